// The system's Chromium (Debian's `chromium` package; browser builds cannot be downloaded here),
// driven headless by playwright-core, and where the suite keeps its screenshots.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { ROOT } from "../tooling/harness.ts";

/** CHROMIUM_PATH, else Debian's chromium. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Launches headless Chromium; fails with a clear message when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
}

/**
 * Where screenshots go: docs/screenshots when UPDATE_SCREENSHOTS=1 (to refresh the README's and docs/console.md's
 * pictures), else a temporary directory, so an ordinary run leaves the work tree unchanged.
 */
export async function screenshotDir(): Promise<string> {
  if (process.env.UPDATE_SCREENSHOTS === "1") {
    const dir = join(ROOT, "docs", "screenshots");
    await mkdir(dir, { recursive: true });
    return dir;
  }
  return mkdtemp(join(tmpdir(), "console-screenshots-"));
}

/** Saves a screenshot named `name.png`: the whole page, or only the viewport (long lists, dialogs, phones). */
export async function screenshot(page: Page, dir: string, name: string, { fullPage = true } = {}): Promise<void> {
  // The transient status message ("Copied…") is cleared first, so it does not cover the view.
  await page.evaluate("document.getElementById('status').textContent = ''");
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage, animations: "disabled" });
}

/** The page's width that does not fit the viewport (0 when nothing scrolls sideways). */
export function horizontalOverflow(page: Page): Promise<number> {
  // A string, evaluated in the page: this project's type library is the Workers runtime's, without the DOM.
  return page.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
}
