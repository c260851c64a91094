// The operator console in a real Chromium against `npm start` (wrangler dev) with seeded systems and
// backups: sign in, walk organisation → system → backup, download, delete, suspend, create, audit,
// and a reader who is offered nothing that changes anything. Screenshots of every view.
import { readFile } from "node:fs/promises";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { horizontalOverflow, launchChromium, screenshot, screenshotDir } from "./browser.ts";
import { axeViolations } from "./axe.ts";
import { applianceListStatus, type CreatedSystem, createSystem, createToken, operatorCall, type SeededBackup, startVault, uploadBackup, type Vault, vaultState } from "./vault.ts";

const ORG = "acme";
const OTHER_ORG = "globex";
const EXTRA_SYSTEMS = 26; // with the two seeded below: more than one page of 25

let vault: Vault;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let shots: string;
let adminToken: string;
let readerToken: string;
let managerToken: string;
let busy: CreatedSystem; // three backups
let quiet: CreatedSystem; // one backup (its secret rotated later)
let foreign: CreatedSystem; // in the other organisation
let backups: SeededBackup[]; // busy's, oldest first
const requests: string[] = [];

beforeAll(async () => {
  // Scoped tokens first, with the CLI on the local state, then the vault on that state; the admin
  // token is the local one npm start prints.
  const state = await vaultState();
  readerToken = await createToken(state.state, "console-reader", "reader", [ORG]);
  managerToken = await createToken(state.state, "console-manager", "manager", [ORG, OTHER_ORG]);
  vault = await startVault(state);
  adminToken = /TOKEN=(op_\S+)/.exec(vault.output())?.[1] ?? "";
  if (!adminToken) throw new Error(`npm start printed no local admin token:\n${vault.output()}`);
  busy = await createSystem(vault.origin, adminToken, ORG);
  quiet = await createSystem(vault.origin, adminToken, ORG);
  foreign = await createSystem(vault.origin, adminToken, OTHER_ORG);
  backups = [];
  for (const day of ["2026-04-10", "2026-04-11", "2026-04-12"]) backups.push(await uploadBackup(vault.origin, busy, `daily-${day}.tar.gz.gpg`, 2048 + backups.length * 1000));
  await uploadBackup(vault.origin, quiet, "quiet.tar.xz");
  await uploadBackup(vault.origin, foreign, "foreign.tar.gz");
  for (let i = 0; i < EXTRA_SYSTEMS; i++) await createSystem(vault.origin, adminToken, ORG);
  // The hourly evaluation of the fleet's health, run as if ten days from now: the seeded systems
  // have been silent since (the first screen, the fleet's health, shows what that evaluation found).
  const cron = await fetch(`${vault.origin}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("17 * * * *")}&time=${Date.now() + 10 * 86_400_000}`);
  await cron.arrayBuffer();
  if (cron.status !== 200) throw new Error(`the scheduled run answered ${cron.status}`);

  shots = await screenshotDir();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: vault.origin });
  context.on("request", (request) => requests.push(request.url()));
  page = await context.newPage();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await vault?.stop();
});

/** Waits for the view's heading, the sign that the view finished loading. */
async function heading(expected: string | RegExp) {
  await page.locator("h1", { hasText: expected }).waitFor();
  await page.locator("main[aria-busy]").waitFor({ state: "detached" });
}

async function signIn(token: string) {
  await page.goto(`${vault.origin}/console/`);
  await page.locator("#token").waitFor();
  await page.keyboard.type(token); // the field has the focus: keyboard only
  await page.keyboard.press("Enter");
}

/** What the page's clipboard holds (a string evaluated in the page: no DOM types in this project). */
const clipboardText = () => page.evaluate<string>("navigator.clipboard.readText()");

/** The texts of every button on the page (dialogs included), trimmed. */
const buttonTexts = () => page.locator("button:visible").allTextContents().then((texts) => texts.map((t) => t.trim()));

describe("the operator console", () => {
  it("is served at /console/ with a strict Content-Security-Policy", async () => {
    const response = await fetch(`${vault.origin}/console/`);
    await response.arrayBuffer();
    expect(response.status).toBe(200);
    const csp = response.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(response.headers.get("Referrer-Policy")).toBe("no-referrer");
    expect(response.headers.get("X-Frame-Options")).toBe("DENY");
    expect(vault.output()).toContain(`Operator console: ${vault.origin}/console/`); // npm start prints the console's URL (and the admin token used below)
  });

  it("refuses a wrong token in plain words, then signs in by keyboard with the token kept for the tab only", async () => {
    await signIn("op_0123456789abcdef.wrongwrongwrongwrongwrongwrongwrongwrongwro");
    await page.getByRole("alert").filter({ hasText: "The token was not accepted" }).waitFor();
    await screenshot(page, shots, "sign-in");

    await signIn(adminToken);
    await heading("Fleet health");
    expect(await page.locator("#who-name").textContent()).toContain("admin");
    expect(await page.evaluate(() => Object.values(sessionStorage))).toContain(adminToken);
    expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain(adminToken);
    expect(page.url()).not.toContain(adminToken.slice(3, 20));
  });

  it("lists the organisations with systems, backups and bytes against the quota as a bar", async () => {
    await page.getByRole("link", { name: "All organisations" }).click();
    await heading("Organisations");
    const acme = page.locator("tr", { has: page.getByRole("link", { name: ORG, exact: true }) });
    await acme.waitFor();
    const cells = await acme.locator("td").allTextContents();
    expect(cells[1]).toBe(String(2 + EXTRA_SYSTEMS));
    expect(cells[2]).toBe("4");
    expect(await acme.locator("meter").getAttribute("aria-label")).toMatch(/^Storage used: .+ of .+ \(.+ %\)$/);
    expect(await page.getByRole("link", { name: OTHER_ORG, exact: true }).count()).toBe(1);
    await screenshot(page, shots, "organizations");
  });

  it("walks to an organisation's systems: paginated, sortable, filterable, the vault's health shown", async () => {
    await page.getByRole("link", { name: ORG, exact: true }).click();
    await heading(`Systems of ${ORG}`);
    expect(await page.locator(".pager").textContent()).toContain(`Page 1 of 2 (${2 + EXTRA_SYSTEMS} rows)`);
    // Registered minutes ago: the vault counts none silent or never backed up yet, against the organisation's own setting.
    expect(await page.locator("#stale-count").textContent()).toBe("No system needs attention: every active system gave a sign of life within 7 day(s), this organisation's setting.");
    await screenshot(page, shots, "systems", { fullPage: false });

    await page.getByRole("button", { name: /^Backups/ }).click(); // ascending
    await page.getByRole("button", { name: /^Backups/ }).click(); // descending
    expect(await page.locator("tbody tr").first().getAttribute("data-key")).toBe(busy.system_key);
    expect(await page.locator("th[aria-sort=descending]").textContent()).toContain("Backups");

    await page.locator("#stale-only").check();
    expect(await page.locator(".table-block .empty").textContent()).toBe("No system matches the filters.");
    await page.locator("#stale-only").uncheck();
    expect(await page.locator("#stale-days").count()).toBe(0); // no threshold of the browser's own
    await page.locator("#system-filter").fill(busy.system_key);
    expect(await page.locator("tbody tr").count()).toBe(1);
  });

  it("marks a system silent when the vault says so, never by the browser's clock (moved on 5 days)", async () => {
    const later = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    later.on("request", (request) => requests.push(request.url()));
    try {
      await later.clock.setFixedTime(Date.now() + 5 * 86_400_000);
      const tab = await later.newPage();
      await tab.goto(`${vault.origin}/console/`);
      await tab.locator("#token").fill(readerToken);
      await tab.getByRole("button", { name: "Sign in" }).click();
      await tab.locator("h1", { hasText: "Fleet health" }).waitFor();
      await tab.goto(`${vault.origin}/console/#/org/${ORG}?q=${busy.system_key}`);
      await tab.locator("h1", { hasText: `Systems of ${ORG}` }).waitFor();
      const newest = tab.locator(`tr[data-key="${busy.system_key}"] td[data-label="Newest backup"]`);
      expect(await newest.textContent()).toBe("5 d ago"); // the vault, judging by its own clock, says ok
      expect(await tab.locator(`tr[data-key="${busy.system_key}"] .badge.health`).count()).toBe(0);
      expect(await tab.locator("#stale-count").textContent()).toContain("within this organisation's threshold"); // a reader may not read the setting

      // The same list as the vault answers it five days on: its `health` for this system is stale.
      await tab.route(`**/api/admin/organizations/${ORG}/systems*`, async (route) => {
        const answer = await route.fetch();
        const body = await answer.json();
        for (const row of body.data.systems) if (row.system_key === busy.system_key) row.health = "stale";
        await route.fulfill({ response: answer, json: body });
      });
      await tab.reload();
      await tab.locator("h1", { hasText: `Systems of ${ORG}` }).waitFor();
      expect(await newest.textContent()).toBe("⚠ 5 d ago (stale)");
      expect(await tab.locator(`tr[data-key="${busy.system_key}"] .badge.health`).textContent()).toBe("silent 5 days");
      expect(await tab.locator("#stale-count").textContent()).toBe("1 system(s) need attention: 1 silent for longer than this organisation's threshold, 0 never backed up, 0 with their last upload refused.");
    } finally {
      await later.close();
    }
  });

  it("shows a system's backups newest first, copies a digest, and downloads a backup under its real name, byte for byte", async () => {
    await page.locator("#system-filter").fill(busy.system_key);
    await page.getByRole("link", { name: busy.system_key }).click();
    await heading(`System ${busy.system_key}`);
    const names = await page.locator("tbody .filename").allTextContents();
    expect(names).toEqual(backups.map((b) => b.filename).reverse());

    const wanted = backups[1];
    const row = page.locator(`tr[data-key="${wanted.id}"]`);
    expect(await row.locator(".digest code").getAttribute("title")).toBe(wanted.sha256);
    await row.getByRole("button", { name: `Copy the SHA-256 of ${wanted.filename}` }).click();
    expect(await clipboardText()).toBe(wanted.sha256);

    const [download] = await Promise.all([page.waitForEvent("download"), row.getByRole("button", { name: `Download ${wanted.filename}` }).click()]);
    expect(download.suggestedFilename()).toBe(wanted.filename);
    const saved = await readFile((await download.path())!);
    expect(saved.equals(wanted.bytes)).toBe(true);
    expect(await page.locator(".link-url").textContent()).toMatch(new RegExp(`^${vault.origin}/api/downloads/`));
    await screenshot(page, shots, "system");
  });

  it("deletes a backup only after a confirmation that names it", async () => {
    const victim = backups[0];
    const row = () => page.locator(`#backups tr[data-key="${victim.id}"]`);
    await row().getByRole("button", { name: `Delete ${victim.filename}` }).click();
    const dialog = page.locator("dialog[open]");
    expect(await dialog.textContent()).toContain(victim.filename);
    expect(await dialog.textContent()).toContain(victim.id);
    await screenshot(page, shots, "delete-confirmation", { fullPage: false });
    await page.keyboard.press("Escape"); // cancel: nothing happens
    await dialog.waitFor({ state: "detached" });
    expect(await row().count()).toBe(1);

    await row().getByRole("button", { name: `Delete ${victim.filename}` }).click();
    await page.locator("dialog[open]").getByRole("button", { name: `Delete ${victim.filename}` }).click();
    await page.locator(`#recoverable tr[data-key="${victim.id}"]`).waitFor(); // into the recovery window
    expect(await page.locator(`#backups tr[data-key="${victim.id}"]`).count()).toBe(0);
    const listing = await operatorCall(vault.origin, adminToken, "GET", `/api/admin/systems/${busy.system_key}/backups`);
    expect(listing.body.data.backups.map((b: { id: string }) => b.id)).not.toContain(victim.id);
  });

  it("suspends a system, and the appliance is refused until it is resumed", async () => {
    expect(await applianceListStatus(vault.origin, busy)).toBe(200);
    await page.getByRole("button", { name: "Suspend", exact: true }).click();
    await page.locator("dialog[open]").getByRole("button", { name: "Suspend system" }).click();
    await page.locator(".facts .badge.suspended").waitFor();
    await expect.poll(() => applianceListStatus(vault.origin, busy), { timeout: 45_000, interval: 1_000 }).toBe(401);

    await page.getByRole("button", { name: "Resume", exact: true }).click();
    await page.locator(".facts .badge.active").waitFor();
    await expect.poll(() => applianceListStatus(vault.origin, busy), { timeout: 45_000, interval: 1_000 }).toBe(200);
  });

  it("creates a system and shows its secret once, with a copy button and a warning", async () => {
    await page.goto(`${vault.origin}/console/#/org/${ORG}`);
    await heading(`Systems of ${ORG}`);
    await page.getByRole("button", { name: "New system" }).click();
    await page.locator("#new-append-only").check();
    await page.locator("dialog[open]").getByRole("button", { name: "Create system" }).click();
    const secretDialog = page.locator("dialog.secret-dialog[open]");
    await secretDialog.waitFor();
    expect(await secretDialog.textContent()).toContain("will not be shown again");
    const [key, secret] = await secretDialog.locator(".secret-value").allTextContents();
    await screenshot(page, shots, "secret-once", { fullPage: false });
    await secretDialog.getByRole("button", { name: "Copy system secret" }).click();
    expect(await clipboardText()).toBe(secret);
    await secretDialog.getByRole("button", { name: /I have stored it/ }).click();
    await secretDialog.waitFor({ state: "detached" });
    expect(await page.content()).not.toContain(secret);

    const created = { system_key: key, system_secret: secret, system_id: "", organization_id: ORG };
    await uploadBackup(vault.origin, created, "first.tar.gz"); // the secret shown works for the appliance
    await page.locator("#system-filter").fill(key);
    const row = page.locator(`tr[data-key="${key}"]`);
    expect(await row.locator("td").nth(2).textContent()).toBe("yes");
  });

  it("reads the organisation's audit trail, newest first", async () => {
    await page.getByRole("link", { name: "Audit trail" }).click();
    await heading(`Audit trail of ${ORG}`);
    const actions = await page.locator("tbody td:nth-child(3)").allTextContents();
    for (const action of ["system.create", "backup.link", "backup.delete", "system.suspend", "system.resume"]) expect(actions).toContain(action);
    expect(actions.indexOf("system.resume")).toBeLessThan(actions.indexOf("system.suspend"));
    await screenshot(page, shots, "audit", { fullPage: false });
  });

  it("explains an unknown system in plain words", async () => {
    await page.goto(`${vault.origin}/console/#/system/NETH-NO-SUCH-SYSTEM`);
    await page.getByRole("alert").filter({ hasText: "Not found, or outside the organisations your token may see." }).waitFor();
  });

  it("offers a reader no button that changes anything, and hides other organisations", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await signIn(readerToken);
    await heading("Fleet health");
    expect(await page.getByRole("link", { name: OTHER_ORG, exact: true }).count()).toBe(0);
    await page.getByRole("link", { name: ORG, exact: true }).click();
    await heading(`Systems of ${ORG}`);
    expect(await buttonTexts()).not.toContain("New system");
    await page.goto(`${vault.origin}/console/#/system/${busy.system_key}`);
    await heading(`System ${busy.system_key}`);
    const allowed = /^(Sign out|Find|Download|Copy|Copy link|Previous|Next|(File name|Size|Uploaded|Removed|Why|Erased after)\s*[▲▼]?)$/;
    const offered = await buttonTexts();
    expect(offered.filter((text) => !allowed.test(text))).toEqual([]);
    expect(offered).toContain("Download");
    await screenshot(page, shots, "reader-system");

    await page.goto(`${vault.origin}/console/#/system/${foreign.system_key}`);
    await page.getByRole("alert").filter({ hasText: "Not found, or outside the organisations your token may see." }).waitFor();
  });

  it("offers a manager delete, suspend and append-only, but not create or rotate", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(managerToken);
    await heading("Fleet health");
    await page.goto(`${vault.origin}/console/#/org/${ORG}`);
    await heading(`Systems of ${ORG}`);
    expect(await buttonTexts()).not.toContain("New system");
    await page.goto(`${vault.origin}/console/#/system/${busy.system_key}`);
    await heading(`System ${busy.system_key}`);
    const offered = await buttonTexts();
    for (const action of ["Suspend", "Turn append-only on", "Delete"]) expect(offered).toContain(action);
    expect(offered).not.toContain("Rotate secret");
  });

  it("is readable at 390 px wide, with nothing scrolling sideways", async () => {
    const narrow = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    narrow.on("request", (request) => requests.push(request.url()));
    const phone = await narrow.newPage();
    try {
      await phone.goto(`${vault.origin}/console/`);
      await phone.locator("#token").fill(adminToken);
      await phone.getByRole("button", { name: "Sign in" }).click();
      for (const [hash, title, name] of [
        ["#/", "Fleet health", "health-390"],
        ["#/orgs", "Organisations", "organizations-390"],
        [`#/org/${ORG}`, `Systems of ${ORG}`, "systems-390"],
        [`#/system/${busy.system_key}`, `System ${busy.system_key}`, "system-390"],
        [`#/org/${ORG}/audit`, `Audit trail of ${ORG}`, "audit-390"],
      ]) {
        await phone.goto(`${vault.origin}/console/${hash}`);
        await phone.locator("h1", { hasText: title }).waitFor();
        await phone.locator("main[aria-busy]").waitFor({ state: "detached" });
        expect(await horizontalOverflow(phone), `${name} scrolls sideways`).toBeLessThanOrEqual(0);
        await screenshot(phone, shots, name, { fullPage: false });
      }
    } finally {
      await narrow.close();
    }
  });

  it("loaded nothing from another origin and never put a token in a URL", () => {
    expect(requests.length).toBeGreaterThan(10);
    const foreignRequests = requests.filter((url) => !url.startsWith(`${vault.origin}/`));
    expect(foreignRequests).toEqual([]);
    for (const token of [adminToken, readerToken, managerToken]) expect(requests.filter((url) => url.includes(token.split(".")[1]))).toEqual([]);
  });
});

describe("the console for a fleet: every action, state in the URL, and no dead ends", () => {
  let retiree: CreatedSystem; // retired, then purged
  let mover: CreatedSystem; // moved to the other organisation

  beforeAll(async () => {
    retiree = await createSystem(vault.origin, adminToken, ORG);
    mover = await createSystem(vault.origin, adminToken, ORG);
    await uploadBackup(vault.origin, retiree, "retiree.tar.gz");
    await uploadBackup(vault.origin, mover, "mover.tar.gz");
  }, 120_000);

  it("hides the operator and Sign out once signed out, and shows the sign-in hint without literal backticks", async () => {
    await page.goto(`${vault.origin}/console/`);
    if (await page.locator("#who").isVisible()) await page.getByRole("button", { name: "Sign out" }).click();
    await page.locator("#token").waitFor();
    expect(await page.locator("#who").isVisible()).toBe(false);
    expect(await page.getByRole("button", { name: "Sign out" }).count()).toBe(0);
    const hint = await page.locator("#token-help").textContent();
    expect(hint).toContain("npm run system -- token create");
    expect(hint).not.toContain("`");
    expect(await page.locator("#token-help code").count()).toBe(1);
    await signIn(adminToken);
    await heading("Fleet health");
    expect(await page.locator("#who").isVisible()).toBe(true);
  });

  it("keeps sort, filter and page in the URL, so Back and a bookmark come back to the same place", async () => {
    await page.goto(`${vault.origin}/console/#/org/${ORG}`);
    await heading(`Systems of ${ORG}`);
    await page.getByRole("button", { name: /^Bytes/ }).click();
    await page.getByRole("button", { name: /^Bytes/ }).click(); // descending
    await page.getByRole("button", { name: "Next" }).click();
    expect(page.url()).toContain("sort=-bytes_used");
    expect(page.url()).toContain("page=2");
    const secondPage = await page.locator("tbody tr").first().getAttribute("data-key");

    await page.locator("tbody tr a").first().click();
    await heading(/^System /);
    await page.goBack();
    await heading(`Systems of ${ORG}`);
    expect(await page.locator(".pager").textContent()).toContain("Page 2 of");
    expect(await page.locator("tbody tr").first().getAttribute("data-key")).toBe(secondPage);
    expect(await page.locator("th[aria-sort=descending]").textContent()).toContain("Bytes");

    await page.locator("#system-filter").fill(quiet.system_key);
    await page.locator("#status-filter").selectOption("active");
    expect(page.url()).toContain(`q=${quiet.system_key}`);
    expect(page.url()).not.toContain("page=2"); // a new filter starts at page 1
    const bookmark = page.url();
    const tab = await context.newPage(); // a new tab has no token (sessionStorage is per tab): sign in, then the bookmarked view
    try {
      await tab.goto(bookmark);
      await tab.locator("#token").fill(adminToken);
      await tab.getByRole("button", { name: "Sign in" }).click();
      await tab.locator("h1", { hasText: `Systems of ${ORG}` }).waitFor();
      expect(await tab.locator("#system-filter").inputValue()).toBe(quiet.system_key);
      expect(await tab.locator("#status-filter").inputValue()).toBe("active");
      expect(await tab.locator("tbody tr").count()).toBe(1);
    } finally {
      await tab.close();
    }
  });

  it("gives up on a vault that never answers after 15 seconds, and Retry loads the view once it answers", async () => {
    await page.route("**/api/admin/health*", () => {}); // never fulfilled: a hung vault
    try {
      await page.goto(`${vault.origin}/console/#/`);
      await page.reload();
      await page.getByRole("alert").filter({ hasText: "did not answer within 15 seconds" }).waitFor({ timeout: 40_000 });
      expect(await page.locator(".loading").count()).toBe(0);
      expect(await page.evaluate<string | null>("document.activeElement && document.activeElement.textContent")).toBe("Retry");
    } finally {
      await page.unroute("**/api/admin/health*");
    }
    await page.keyboard.press("Enter"); // Retry has the focus
    await heading("Fleet health");
  });

  it("says what retired means, offers only purge on a retired system, and keeps its backups downloadable", async () => {
    await page.goto(`${vault.origin}/console/#/system/${retiree.system_key}`);
    await heading(`System ${retiree.system_key}`);
    expect(await page.locator(".facts").textContent()).toMatch(/1 of 10 retention slots used/);
    await page.getByRole("button", { name: "Retire", exact: true }).click();
    await page.locator("dialog[open]").getByRole("button", { name: "Retire system" }).click();
    await page.locator(".facts .badge.deleted", { hasText: "retired" }).waitFor();
    expect(await page.locator(".notice").textContent()).toContain("This system is retired.");
    const offered = await buttonTexts();
    expect(offered).toContain("Purge…");
    for (const gone of ["Retire", "Move…", "Suspend", "Rotate secret"]) expect(offered).not.toContain(gone);
    expect(offered).toContain("Download");
    expect(await applianceListStatus(vault.origin, retiree)).toBe(401);
  });

  it("purges only after the key is typed, then the system is gone", async () => {
    await page.getByRole("button", { name: "Purge…" }).click();
    const dialog = page.locator("dialog[open]");
    const purge = dialog.getByRole("button", { name: "Purge system" });
    expect(await purge.isDisabled()).toBe(true);
    await dialog.getByRole("textbox").fill(retiree.system_key.slice(0, -1));
    expect(await purge.isDisabled()).toBe(true);
    await dialog.getByRole("textbox").fill(retiree.system_key);
    await purge.click();
    await page.locator(".notice", { hasText: "This system is purged." }).waitFor(); // its page now shows what the recovery window keeps
    expect((await operatorCall(vault.origin, adminToken, "GET", `/api/admin/systems/${retiree.system_key}/backups`)).status).toBe(404);
  });

  it("moves a system to an organisation picked from the list, backups and all", async () => {
    await page.goto(`${vault.origin}/console/#/system/${mover.system_key}`);
    await heading(`System ${mover.system_key}`);
    await page.getByRole("button", { name: "Move…" }).click();
    const dialog = page.locator("dialog[open]");
    await dialog.waitFor();
    expect(await page.evaluate<string[]>("[...document.querySelectorAll('dialog[open] datalist option')].map((o) => o.value)")).toContain(OTHER_ORG);
    await dialog.getByRole("combobox").fill(OTHER_ORG); // a text field with suggestions
    await dialog.getByRole("button", { name: "Move system" }).click();
    await page.locator(".facts a", { hasText: OTHER_ORG }).waitFor();
    const listing = await operatorCall(vault.origin, adminToken, "GET", `/api/admin/systems/${mover.system_key}/backups`);
    expect(listing.body.data.backups.map((b: { filename: string }) => b.filename)).toEqual(["mover.tar.gz"]);
  });

  it("asks before Escape closes a secret shown once, and offers retire, move and purge to admins only", async () => {
    await page.goto(`${vault.origin}/console/#/system/${quiet.system_key}`);
    await heading(`System ${quiet.system_key}`);
    await page.getByRole("button", { name: "Rotate secret" }).click();
    await page.locator("dialog[open]").getByRole("button", { name: "Rotate secret" }).click();
    const secretDialog = page.locator("dialog.secret-dialog[open]");
    await secretDialog.waitFor();
    const [, secret] = await secretDialog.locator(".secret-value").allTextContents();
    await page.keyboard.press("Escape");
    await secretDialog.getByRole("alert").filter({ hasText: "Close without the secret?" }).waitFor();
    expect(await secretDialog.isVisible()).toBe(true);
    await page.keyboard.press("Escape"); // again: still asked, still open
    await secretDialog.getByRole("button", { name: "Keep it open" }).click();
    expect(await secretDialog.isVisible()).toBe(true);
    expect(await secretDialog.locator(".close-question").count()).toBe(0);
    expect(await secretDialog.locator(".secret-value").nth(1).textContent()).toBe(secret);
    await secretDialog.getByRole("button", { name: /I have stored it/ }).click();
    await secretDialog.waitFor({ state: "detached" });
    quiet = { ...quiet, system_secret: secret! };
    expect(await applianceListStatus(vault.origin, quiet)).toBe(200);

    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(managerToken);
    await heading("Fleet health");
    await page.goto(`${vault.origin}/console/#/system/${quiet.system_key}`);
    await heading(`System ${quiet.system_key}`);
    const offered = await buttonTexts();
    for (const adminOnly of ["Retire", "Move…", "Purge…"]) expect(offered).not.toContain(adminOnly);
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(adminToken);
    await heading("Fleet health");
  });

  it("links audit targets to their system, and keeps the audit filter in the URL", async () => {
    await page.goto(`${vault.origin}/console/#/org/${ORG}/audit`);
    await heading(`Audit trail of ${ORG}`);
    await page.locator("#audit-action").fill("system.rotate");
    await page.locator("#audit-action").press("Enter"); // applied by the vault over the whole trail
    await heading(`Audit trail of ${ORG}`);
    expect(page.url()).toContain("action=system.rotate");
    await page.reload();
    await heading(`Audit trail of ${ORG}`);
    expect(await page.locator("#audit-action").inputValue()).toBe("system.rotate");
    expect(new Set(await page.locator("tbody td:nth-child(3)").allTextContents())).toEqual(new Set(["system.rotate"]));
    const link = page.locator("tbody a.target", { hasText: quiet.system_key }).first();
    await link.click();
    await heading(`System ${quiet.system_key}`);
  });

  it("restores a backup by keyboard alone: sign in, organisation, system, download", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.locator("#token").waitFor();
    await page.keyboard.type(adminToken);
    await page.keyboard.press("Enter");
    await heading("Fleet health");
    await tabTo("All organisations");
    await page.keyboard.press("Enter");
    await heading("Organisations");
    await tabTo(ORG);
    await page.keyboard.press("Enter");
    await heading(`Systems of ${ORG}`);
    await page.keyboard.press("Tab"); // from the heading into the toolbar and the filters
    await tabTo("Filter", "id");
    await page.keyboard.type(busy.system_key);
    await tabTo(busy.system_key);
    await page.keyboard.press("Enter");
    await heading(`System ${busy.system_key}`);
    const newest = backups[2]!;
    await tabTo(`Download ${newest.filename}`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.keyboard.press("Enter")]);
    expect(download.suggestedFilename()).toBe(newest.filename);
    expect((await readFile((await download.path())!)).equals(newest.bytes)).toBe(true);
  });

  it("shows how long a system has been silent, in words, on its badge", async () => {
    const later = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    try {
      await later.clock.setFixedTime(Date.now() + 33 * 86_400_000);
      const tab = await later.newPage();
      // The vault's answer a month on: this system's health is stale (the badge says how long, from its last sign of life).
      await tab.route(`**/api/admin/systems/${busy.system_key}`, async (route) => {
        const answer = await route.fetch();
        const body = await answer.json();
        await route.fulfill({ response: answer, json: { ...body, data: { ...body.data, health: "stale" } } });
      });
      await tab.goto(`${vault.origin}/console/`);
      await tab.locator("#token").fill(adminToken);
      await tab.getByRole("button", { name: "Sign in" }).click();
      await tab.locator("h1", { hasText: "Fleet health" }).waitFor();
      await tab.goto(`${vault.origin}/console/#/system/${busy.system_key}`);
      await tab.locator("h1", { hasText: `System ${busy.system_key}` }).waitFor();
      expect(await tab.locator(".facts .badge.health").textContent()).toBe("silent 33 days");
    } finally {
      await later.close();
    }
  });

  it("on a phone, keeps badges to their text and offers only sortable columns to sort by", async () => {
    const narrow = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const phone = await narrow.newPage();
    try {
      await phone.goto(`${vault.origin}/console/`);
      await phone.locator("#token").fill(adminToken);
      await phone.getByRole("button", { name: "Sign in" }).click();
      await phone.locator("h1", { hasText: "Fleet health" }).waitFor();
      await phone.goto(`${vault.origin}/console/#/system/${busy.system_key}`);
      await phone.locator("h1", { hasText: `System ${busy.system_key}` }).waitFor();
      expect(await phone.locator("thead th:visible").allTextContents()).toEqual(expect.not.arrayContaining([expect.stringMatching(/SHA-256|Actions/)]));
      await phone.goto(`${vault.origin}/console/#/org/${ORG}`);
      await phone.locator("h1", { hasText: `Systems of ${ORG}` }).waitFor();
      const badge = await phone.locator("tbody .badge").first().boundingBox();
      const cell = await phone.locator("tbody td[data-label=Status]").first().boundingBox();
      expect(badge!.width).toBeLessThan(cell!.width / 2);
    } finally {
      await narrow.close();
    }
  });

  it("draws 1,000 systems of one organisation and 10,000 organisations (timings printed as information, not asserted)", async () => {
    const now = Date.now();
    const systems = Array.from({ length: 1000 }, (_, i) => ({
      system_key: `NETH-${String(i).padStart(6, "0")}`, system_id: `id-${i}`, organization_id: "big", status: i % 50 === 0 ? "suspended" : "active", append_only: i % 3 === 0,
      registered_at: "2026-01-01T00:00:00Z", backups: i % 11, bytes_used: i * 1000, last_backup_at: i % 7 === 0 ? null : new Date(now - i * 3_600_000).toISOString(),
    }));
    const organizations = Array.from({ length: 10_000 }, (_, i) => ({ organization_id: `org-${String(i).padStart(5, "0")}`, systems: i % 13, backups: i % 97, bytes_used: i * 4096, quota_bytes: 100 * 1024 ** 3 }));
    const answer = (data: unknown) => ({ status: 200, contentType: "application/json", body: JSON.stringify({ code: 200, message: "listed", data }) });
    await page.route("**/api/admin/organizations/big/systems*", (route) => route.fulfill(answer({ systems, cursor: null })));
    await page.route("**/api/admin/organizations?*", (route) => route.fulfill(answer({ organizations, cursor: null })));
    try {
      let started = Date.now();
      await page.goto(`${vault.origin}/console/#/org/big`);
      await heading("Systems of big");
      const systemsMs = Date.now() - started;
      expect(await page.locator(".pager").textContent()).toContain("Page 1 of 40 (1000 rows)");
      started = Date.now();
      await page.getByRole("button", { name: /^Bytes/ }).click();
      await page.locator("th[aria-sort=ascending]", { hasText: "Bytes" }).waitFor();
      const sortMs = Date.now() - started;
      started = Date.now();
      await page.locator("#system-filter").fill("NETH-00099");
      await page.locator(".pager", { hasText: "10 shown" }).waitFor();
      const filterMs = Date.now() - started;
      started = Date.now();
      await page.goto(`${vault.origin}/console/#/orgs`);
      await heading("Organisations");
      const organizationsMs = Date.now() - started;
      expect(await page.locator(".pager").textContent()).toContain("(10000 rows)");
      const health = organizations.map((o, i) => ({ organization_id: o.organization_id, systems: { ok: 10, stale: i % 5, never: i % 3, refused: i % 7 === 0 ? 1 : 0, suspended: 0, retired: 0 }, backups: o.backups, bytes_used: o.bytes_used, quota_bytes: o.quota_bytes, recoverable_bytes: 0, most_silent: i % 5 ? { system_key: `NETH-${i}`, name: null, silent_since: new Date(now - i * 60_000).toISOString() } : null }));
      await page.route("**/api/admin/health?*", (route) => route.fulfill(answer({ organizations: health, cursor: null })));
      started = Date.now();
      await page.goto(`${vault.origin}/console/#/`);
      await heading("Fleet health");
      const healthMs = Date.now() - started;
      expect(await page.locator(".pager").textContent()).toContain("(10000 rows)");
      console.log(`console at scale (information): 1,000 systems drawn in ${systemsMs} ms, sorted in ${sortMs} ms, filtered in ${filterMs} ms; 10,000 organisations drawn in ${organizationsMs} ms; the fleet's health of 10,000 organisations drawn in ${healthMs} ms`);
    } finally {
      await page.unroute("**/api/admin/health?*");
      await page.unroute("**/api/admin/organizations/big/systems*");
      await page.unroute("**/api/admin/organizations?*");
    }
  });

  it("has no axe-core violation on any view, in the light and the dark theme", async () => {
    const views: [string, string | RegExp][] = [
      ["#/", "Fleet health"],
      ["#/orgs", "Organisations"],
      [`#/search?q=${busy.system_key.slice(0, 9)}`, /^Systems matching/],
      [`#/org/${ORG}/settings`, `Settings of ${ORG}`],
      [`#/org/${ORG}`, `Systems of ${ORG}`],
      [`#/system/${busy.system_key}`, `System ${busy.system_key}`],
      [`#/org/${ORG}/audit`, `Audit trail of ${ORG}`],
      [`#/system/NETH-NO-SUCH-SYSTEM`, "Could not load this view"],
    ];
    const found: string[] = [];
    for (const colorScheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme });
      for (const [hash, title] of views) {
        await page.goto(`${vault.origin}/console/${hash}`);
        await heading(title);
        found.push(...(await axeViolations(page)).map((v) => `${colorScheme} ${hash}: ${v}`));
      }
      await page.goto(`${vault.origin}/console/#/system/${busy.system_key}`);
      await heading(`System ${busy.system_key}`);
      await page.getByRole("button", { name: "Purge…" }).click();
      found.push(...(await axeViolations(page)).map((v) => `${colorScheme} purge dialog: ${v}`));
      await page.keyboard.press("Escape");
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.locator("#token").waitFor();
      found.push(...(await axeViolations(page)).map((v) => `${colorScheme} sign-in: ${v}`));
      await signIn(adminToken);
      await heading("Fleet health");
    }
    await page.emulateMedia({ colorScheme: null });
    expect(found).toEqual([]);
  });
});

/** Presses Tab until the focused element's text (or `attribute`'s value, else its aria-label) is `name`. */
async function tabTo(name: string, attribute?: string) {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate<string>(`(() => { const e = document.activeElement; if (!e) return ""; ${attribute ? `const label = e.id && document.querySelector('label[for="' + e.id + '"]'); if (label) return label.textContent.trim();` : ""} return (e.getAttribute("aria-label") || e.textContent || "").trim(); })()`);
    if (focused === name) return;
  }
  throw new Error(`Tab never reached ${name}`);
}

describe("the fleet first: health, names, search and settings", () => {
  it("opens on the fleet's health, worst organisation first, with its most silent system as a link", async () => {
    await page.goto(`${vault.origin}/console/`);
    await page.reload();
    await heading("Fleet health");
    await screenshot(page, shots, "health", { fullPage: false });
    expect(await page.locator("tbody tr").first().getAttribute("data-key")).toBe(ORG); // the most systems needing attention
    expect(await page.locator("#health-summary").textContent()).toMatch(/organisation\(s\) have \d+ system\(s\) that stopped backing up/);
    const silent = page.locator(`tr[data-key="${ORG}"] .most-silent a`);
    const target = await silent.getAttribute("href");
    await silent.click();
    await heading(/^System /);
    expect(page.url()).toContain(target!);
  });

  it("names a system and keeps notes (manager), shown in its list and found by the header's search", async () => {
    await page.goto(`${vault.origin}/console/#/system/${busy.system_key}`);
    await heading(`System ${busy.system_key}`);
    await page.getByRole("button", { name: "Edit name and notes" }).click();
    const dialog = page.locator("dialog[open]");
    await dialog.getByLabel("Name").fill("Branch office Lyon");
    await dialog.getByLabel("Notes").fill("Rack 2, behind the printer.\nCall Jo before a restore.");
    await dialog.getByRole("button", { name: "Save" }).click();
    await page.locator(".facts dd", { hasText: "Branch office Lyon" }).waitFor();
    expect(await page.locator(".facts .notes").textContent()).toContain("Call Jo before a restore.");

    await page.locator("#search").fill("Branch office");
    await page.locator("#search").press("Enter");
    await heading(/^Systems matching/);
    const row = page.locator(`tr[data-key="${busy.system_key}"]`);
    expect(await row.locator("td[data-label=Name]").textContent()).toBe("Branch office Lyon");
    expect(await row.locator("td[data-label=Organisation]").textContent()).toBe(ORG);
    await page.locator("#search").fill(foreign.system_key.slice(0, 12)); // by the start of a key, in another organisation
    await page.locator("#search").press("Enter");
    await page.locator(`tr[data-key="${foreign.system_key}"] a`).first().click();
    await heading(`System ${foreign.system_key}`);
  });

  it("sets an organisation's silence threshold and alert targets, with a secret shown once and a test alert", async () => {
    await page.goto(`${vault.origin}/console/#/org/${ORG}`);
    await heading(`Systems of ${ORG}`);
    await page.getByRole("link", { name: "Settings" }).click();
    await heading(`Settings of ${ORG}`);
    await page.getByLabel("A system is silent after (days)").fill("5");
    await page.getByRole("button", { name: "Save" }).click();
    await page.locator("#status", { hasText: "after 5 day(s)" }).waitFor();
    expect((await operatorCall(vault.origin, adminToken, "GET", `/api/admin/organizations/${ORG}/settings`)).body.data.stale_after_days).toBe(5);

    expect(await page.getByRole("button", { name: "Send a test alert" }).isDisabled()).toBe(true);
    await page.getByRole("button", { name: "Add a target" }).click();
    await page.locator("dialog[open]").getByLabel("Address (https://…)").fill("http://127.0.0.1:9/vault-alerts");
    await page.locator("dialog[open]").getByRole("button", { name: "Add target" }).click();
    const secretDialog = page.locator("dialog.secret-dialog[open]");
    await secretDialog.waitFor();
    expect(await secretDialog.textContent()).toContain("will not be shown again");
    await secretDialog.getByRole("button", { name: /I have stored it/ }).click();
    await page.locator(".targets li", { hasText: "http://127.0.0.1:9/vault-alerts" }).waitFor();
    await page.getByRole("button", { name: "Send a test alert" }).click();
    await page.locator("#status", { hasText: "on its way to 1 target(s)" }).waitFor();

    await page.getByRole("button", { name: "Remove http://127.0.0.1:9/vault-alerts" }).click();
    await page.locator("dialog[open]").getByRole("button", { name: "Remove target" }).click();
    await page.locator(".targets").waitFor({ state: "detached" });
  });

  it("offers a reader neither settings nor editing, but the health and the search", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(readerToken);
    await heading("Fleet health");
    await page.goto(`${vault.origin}/console/#/org/${ORG}`);
    await heading(`Systems of ${ORG}`);
    expect(await page.getByRole("link", { name: "Settings" }).count()).toBe(0);
    await page.goto(`${vault.origin}/console/#/system/${busy.system_key}`);
    await heading(`System ${busy.system_key}`);
    expect(await buttonTexts()).not.toContain("Edit name and notes");
    await page.locator("#search").fill(busy.system_key);
    await page.locator("#search").press("Enter");
    await page.locator(`tr[data-key="${busy.system_key}"]`).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(adminToken);
    await heading("Fleet health");
  });
});
