// What the console's journeys share: a vault with an admin token and a Chromium tab, signing in by
// keyboard, waiting for a view, pressing Tab until a control has the focus, and the page's buttons.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium } from "./browser.ts";
import { createToken, startVault, type Vault, vaultState } from "./vault.ts";

/** A started vault, its local admin token, scoped tokens made beforehand, and a browser tab. */
export interface ConsoleRig {
  vault: Vault;
  adminToken: string;
  tokens: Record<string, string>;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  stop: () => Promise<void>;
}

/** Starts a vault (tokens made with the CLI first: `{name: [role, orgs]}`) and Chromium at 1280 × 860. */
export async function startRig(scoped: Record<string, ["reader" | "manager" | "admin", string[] | "*"]> = {}): Promise<ConsoleRig> {
  const state = await vaultState();
  const tokens: Record<string, string> = {};
  for (const [name, [role, orgs]] of Object.entries(scoped)) tokens[name] = await createToken(state.state, name, role, orgs);
  const vault = await startVault(state);
  const adminToken = /TOKEN=(op_\S+)/.exec(vault.output())?.[1] ?? "";
  if (!adminToken) {
    await vault.stop();
    throw new Error(`npm start printed no local admin token:\n${vault.output()}`);
  }
  const browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  return { vault, adminToken, tokens, browser, context, page, stop: async () => {
    await browser.close();
    await vault.stop();
  } };
}

/** Waits for the view's heading, the sign that the view finished loading. */
export async function heading(page: Page, expected: string | RegExp): Promise<void> {
  await page.locator("h1", { hasText: expected }).waitFor();
  await page.locator("main[aria-busy]").waitFor({ state: "detached" });
}

/** Opens the console signed out, and signs in with the keyboard alone (the token field has the focus). */
export async function signIn(page: Page, origin: string, token: string): Promise<void> {
  await page.goto(`${origin}/console/`);
  await page.locator("#token, #who:not([hidden])").first().waitFor(); // signed out, or known to be signed in
  if (await page.locator("#who").isVisible()) await page.getByRole("button", { name: "Sign out" }).click();
  await page.locator("#token").waitFor();
  await page.keyboard.type(token);
  await page.keyboard.press("Enter");
  await heading(page, "Fleet health");
}

/** The texts of every visible button on the page (dialogs included), trimmed. */
export function buttonTexts(page: Page): Promise<string[]> {
  return page.locator("button:visible").allTextContents().then((texts) => texts.map((t) => t.trim()));
}

/** Presses Tab until the focused element's accessible name (aria-label, else its text; with `byLabel`, its <label>) is `name`. */
export async function tabTo(page: Page, name: string, { byLabel = false, max = 120 } = {}): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate<string>(`(() => { const e = document.activeElement; if (!e) return ""; ${byLabel ? `const label = e.id && document.querySelector('label[for="' + e.id + '"]'); if (label) return label.textContent.trim();` : ""} return (e.getAttribute("aria-label") || e.textContent || "").trim(); })()`);
    if (focused === name) return;
  }
  throw new Error(`Tab never reached ${name}`);
}

/** The text of the focused element. */
export function focusedText(page: Page): Promise<string> {
  return page.evaluate<string>("(document.activeElement && (document.activeElement.getAttribute('aria-label') || document.activeElement.textContent) || '').trim()");
}
