// axe-core in the page under test: its source is evaluated through the DevTools protocol (which the
// console's Content-Security-Policy does not govern, unlike an injected <script>), then run on the
// whole document. Each violation comes back as "rule: target, target".
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { ROOT } from "../tooling/harness.ts";

let source: string | undefined;

/** The accessibility violations axe-core finds on the page as it is now (WCAG 2.0/2.1 A and AA, and best practices). */
export async function axeViolations(page: Page): Promise<string[]> {
  source ??= await readFile(join(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8");
  if (!(await page.evaluate<boolean>("typeof window.axe === 'object'"))) await page.evaluate(source);
  const { passes, violations } = await page.evaluate<{ passes: number; violations: string[] }>(`axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } })
    .then((result) => ({ passes: result.passes.length, violations: result.violations.map((v) => v.id + ": " + v.nodes.map((n) => n.target.join(" ")).join(", ")) }))`);
  if (passes < 5) throw new Error(`axe-core checked almost nothing (${passes} rules passed): is the page drawn?`);
  return violations;
}
