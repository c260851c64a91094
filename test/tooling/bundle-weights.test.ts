// What ships, against its budget (docs/performance-budget.md): the worker bundle as deployed, each
// top-level part of src/ seen in it, every dependency in it named with its reason in the docs (the
// console's budget is checked in console-assets.test.ts). Sizes only: nothing here is timed.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bundlePart, WORKER_BUDGET_GZIP_BYTES, workerBundleWeights } from "../../scripts/harness/bundle-weights.mjs";
import { ROOT } from "./harness.ts";

describe("the performance budget", () => {
  it("names each metafile input's part: a folder of src/, its top level, a dependency", () => {
    expect(bundlePart("src/admin/tokens.ts")).toBe("src/admin");
    expect(bundlePart("src/index.ts")).toBe("src/");
    expect(bundlePart("node_modules/hono/dist/hono.js")).toBe("node_modules/hono");
    expect(bundlePart("node_modules/@scope/pkg/index.js")).toBe("node_modules/@scope/pkg");
    expect(bundlePart("../../node_modules/.pnpm/x/node_modules/wrangler/templates/shim.js")).toBe("node_modules/wrangler");
    expect(bundlePart("bench/worker.ts")).toBe("other");
  });

  it("the worker fits in 64 KiB gzipped, every part of src/ is weighed, every dependency has its reason in the docs", async () => {
    const bundle = await workerBundleWeights();
    const parts = Object.fromEntries(bundle.parts.map((p: { part: string; bytes: number; gzipBytes: number }) => [p.part, p]));
    console.log(`worker bundle: ${(bundle.gzipBytes / 1024).toFixed(1)} KiB gzipped;`, bundle.parts.map((p: { part: string; gzipBytes: number }) => `${p.part} ${(p.gzipBytes / 1024).toFixed(1)}`).join(", "));
    expect(bundle.gzipBytes).toBeLessThanOrEqual(WORKER_BUDGET_GZIP_BYTES);
    // The parts account for the whole bundle, and each folder of src/ shows up (a new folder too).
    expect(bundle.parts.reduce((n: number, p: { bytes: number }) => n + p.bytes, 0)).toBeGreaterThanOrEqual(bundle.rawBytes);
    const folders = (await readdir(join(ROOT, "src"), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => `src/${e.name}`);
    for (const folder of folders) expect(parts[folder]?.bytes, `${folder} in the bundle`).toBeGreaterThan(0);
    const budget = await readFile(join(ROOT, "docs", "performance-budget.md"), "utf8");
    const dependencies = bundle.parts.map((p: { part: string }) => p.part).filter((part: string) => part.startsWith("node_modules/"));
    expect(dependencies.length).toBeGreaterThan(0);
    for (const dependency of dependencies) {
      const name = dependency.slice("node_modules/".length);
      expect(budget, `docs/performance-budget.md gives no reason for ${name} in the worker`).toMatch(new RegExp(`^\\| \`${name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\` \\| \\S`, "m"));
    }
  }, 180_000);
});
