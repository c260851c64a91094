// The fleet the console's main journeys run against (console.test.ts, console-actions.test.ts,
// console-journeys.test.ts each start their own): two organisations, 29 systems in `acme` (more
// than a page of 25), backups, reader and manager tokens from the CLI, the hourly evaluation run as
// if ten days on, and a Chromium tab (downloads and the clipboard allowed) whose requests are kept.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium, screenshotDir } from "./browser.ts";
import { type CreatedSystem, createSystem, createToken, type SeededBackup, startVault, uploadBackup, type Vault, vaultState } from "./vault.ts";

export const ORG = "acme";
export const OTHER_ORG = "globex";
export const EXTRA_SYSTEMS = 26; // with the two seeded below: more than one page of 25

export interface ConsoleFleet {
  vault: Vault;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  shots: string;
  adminToken: string;
  readerToken: string;
  managerToken: string;
  busy: CreatedSystem; // three backups
  quiet: CreatedSystem; // one backup
  foreign: CreatedSystem; // in the other organisation
  backups: SeededBackup[]; // busy's, oldest first
  requests: string[]; // every URL the tab (and the contexts the tests add) asked for
  stop: () => Promise<void>;
}

/**
 * One step of the seeding, bounded: a step that does not finish in `seconds` fails with its name
 * (and what the vault printed last), so a hung step says which it was instead of timing out the hook.
 */
async function within<T>(label: string, seconds: number, work: Promise<T>, vault?: Vault): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`startFleet: ${label} did not finish within ${seconds} s${vault ? `; the vault printed last:\n${vault.output().slice(-4000)}` : ""}`)), seconds * 1000);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Seeds the fleet and opens the tab; with `signedIn`, the tab is signed in as the local admin. */
export async function startFleet({ signedIn = false } = {}): Promise<ConsoleFleet> {
  // Scoped tokens first, with the CLI on the local state, then the vault on that state; the admin
  // token is the local one npm start prints.
  const state = await vaultState();
  const readerToken = await within("the reader token (CLI)", 240, createToken(state.state, "console-reader", "reader", [ORG]));
  const managerToken = await within("the manager token (CLI)", 240, createToken(state.state, "console-manager", "manager", [ORG, OTHER_ORG]));
  const vault = await startVault(state);
  try {
    return await seedAndOpen(vault, { readerToken, managerToken, signedIn });
  } catch (error) {
    await vault.stop();
    throw error;
  }
}

async function seedAndOpen(vault: Vault, { readerToken, managerToken, signedIn }: { readerToken: string; managerToken: string; signedIn: boolean }): Promise<ConsoleFleet> {
  const adminToken = /TOKEN=(op_\S+)/.exec(vault.output())?.[1] ?? "";
  if (!adminToken) throw new Error(`npm start printed no local admin token:\n${vault.output()}`);
  const step = <T>(label: string, work: Promise<T>) => within(label, 60, work, vault);
  const busy = await step("creating a system", createSystem(vault.origin, adminToken, ORG));
  const quiet = await step("creating a system", createSystem(vault.origin, adminToken, ORG));
  const foreign = await step("creating a system", createSystem(vault.origin, adminToken, OTHER_ORG));
  const backups: SeededBackup[] = [];
  for (const day of ["2026-04-10", "2026-04-11", "2026-04-12"]) backups.push(await step("an upload", uploadBackup(vault.origin, busy, `daily-${day}.tar.gz.gpg`, 2048 + backups.length * 1000)));
  await step("an upload", uploadBackup(vault.origin, quiet, "quiet.tar.xz"));
  await step("an upload", uploadBackup(vault.origin, foreign, "foreign.tar.gz"));
  for (let i = 0; i < EXTRA_SYSTEMS; i++) await step("creating a system", createSystem(vault.origin, adminToken, ORG));
  // The hourly evaluation of the fleet's health, run as if ten days from now: the seeded systems
  // have been silent since (the first screen, the fleet's health, shows what that evaluation found).
  const scheduled = `${vault.origin}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("17 * * * *")}&time=${Date.now() + 10 * 86_400_000}`;
  const cron = await step("the scheduled run", fetch(scheduled).then(async (r) => (await r.arrayBuffer(), r)));
  if (cron.status !== 200) throw new Error(`the scheduled run answered ${cron.status}`);

  const shots = await screenshotDir();
  const browser = await within("starting Chromium", 120, launchChromium(), vault);
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: vault.origin });
  const requests: string[] = [];
  context.on("request", (request) => requests.push(request.url()));
  const page = await context.newPage();
  if (signedIn) {
    await page.goto(`${vault.origin}/console/`);
    await page.locator("#token").fill(adminToken);
    await page.locator("#token").press("Enter");
    await page.locator("h1", { hasText: "Fleet health" }).waitFor();
  }
  const stop = async () => {
    await browser.close();
    await vault.stop();
  };
  return { vault, browser, context, page, shots, adminToken, readerToken, managerToken, busy, quiet, foreign, backups, requests, stop };
}

/** The steps every journey takes on the fleet's tab, bound to it. */
export function pageSteps(fleet: () => ConsoleFleet) {
  const page = () => fleet().page;
  return {
    /** Waits for the view's heading, the sign that the view finished loading. */
    heading: async (expected: string | RegExp) => {
      await page().locator("h1", { hasText: expected }).waitFor();
      await page().locator("main[aria-busy]").waitFor({ state: "detached" });
    },
    /** Opens the console and types the token into the focused field, then Enter: keyboard only. */
    signIn: async (token: string) => {
      await page().goto(`${fleet().vault.origin}/console/`);
      await page().locator("#token").waitFor();
      await page().keyboard.type(token);
      await page().keyboard.press("Enter");
    },
    /** What the page's clipboard holds (a string evaluated in the page: no DOM types in this project). */
    clipboardText: () => page().evaluate<string>("navigator.clipboard.readText()"),
    /** The texts of every button on the page (dialogs included), trimmed. */
    buttonTexts: () => page().locator("button:visible").allTextContents().then((texts) => texts.map((t) => t.trim())),
    /** Presses Tab until the focused element's text (or, with `attribute`, its <label>, else its aria-label) is `name`. */
    tabTo: async (name: string, attribute?: string) => {
      for (let i = 0; i < 80; i++) {
        await page().keyboard.press("Tab");
        const focused = await page().evaluate<string>(`(() => { const e = document.activeElement; if (!e) return ""; ${attribute ? `const label = e.id && document.querySelector('label[for="' + e.id + '"]'); if (label) return label.textContent.trim();` : ""} return (e.getAttribute("aria-label") || e.textContent || "").trim(); })()`);
        if (focused === name) return;
      }
      throw new Error(`Tab never reached ${name}`);
    },
  };
}
