// What ships, by weight: the deployable worker as `wrangler deploy --dry-run --minify` emits it,
// with what each top-level part of src/ (and each dependency) weighs in it from esbuild's metafile,
// and the operator console's assets as they travel. One definition for the bench, the tooling
// tests and docs/performance-budget.md.
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { withTempDir } from "./temp-dir.mjs";
import { REPO_ROOT, runWrangler } from "./wrangler.mjs";

/** The worker bundle's budget: gzipped (level 9), every emitted script together. */
export const WORKER_BUDGET_GZIP_BYTES = 64 * 1024;
/** The console's budget: page and assets together, each file gzipped on its own at zlib's default level. */
export const CONSOLE_BUDGET_GZIP_BYTES = 80 * 1024;

/**
 * The part of the bundle a metafile input belongs to: `src/<folder>` for a folder of src/,
 * `src/` for a file at its top (index.ts, errors.ts, config.ts), `node_modules/<package>` for a
 * dependency (wrangler's own shims included), `other` for the rest.
 */
export function bundlePart(input) {
  const path = input.replace(/\\/g, "/");
  const modules = path.lastIndexOf("node_modules/");
  if (modules >= 0) {
    const segments = path.slice(modules + "node_modules/".length).split("/");
    return `node_modules/${segments[0].startsWith("@") ? segments.slice(0, 2).join("/") : segments[0]}`;
  }
  const inSrc = /(?:^|\/)src\/(.+)$/.exec(path);
  if (!inSrc) return "other";
  const segments = inSrc[1].split("/");
  return segments.length > 1 ? `src/${segments[0]}` : "src/";
}

/**
 * Builds the worker as deployed and weighs it: `{ files, rawBytes, gzipBytes, parts }`, where each
 * part is `{ part, bytes, gzipBytes }`. `bytes` is exact (esbuild's minified bytes of that part's
 * inputs); gzip does not split by source, so `gzipBytes` is the part's share of the bundle's gzipped
 * size in proportion to its bytes. Bytes esbuild emits outside every input (its runtime, the
 * module wrapper) are the part `(glue)`.
 */
export async function workerBundleWeights({ timeoutMs = 120_000 } = {}) {
  return withTempDir("backup-vault-bundle-", async (out) => {
    const metafile = join(out, "bundle-meta.json");
    await runWrangler(["deploy", "--dry-run", "--minify", "--outdir", out, "--metafile", metafile], { timeoutMs });
    let rawBytes = 0;
    let gzipBytes = 0;
    const files = [];
    for (const name of await readdir(out)) {
      if (!/\.(m?js|wasm)$/.test(name)) continue;
      const bytes = await readFile(join(out, name));
      if (bytes.includes("__bench")) throw new Error(`the deployable bundle ${name} contains a bench route`);
      rawBytes += bytes.length;
      gzipBytes += gzipSync(bytes, { level: 9 }).length;
      files.push(name);
    }
    if (files.length === 0) throw new Error("wrangler deploy --dry-run emitted no script");
    const meta = JSON.parse(await readFile(metafile, "utf8"));
    const byPart = new Map();
    let attributed = 0;
    for (const output of Object.values(meta.outputs)) {
      for (const [input, { bytesInOutput }] of Object.entries(output.inputs ?? {})) {
        const part = bundlePart(relative(REPO_ROOT, join(REPO_ROOT, input)));
        byPart.set(part, (byPart.get(part) ?? 0) + bytesInOutput);
        attributed += bytesInOutput;
      }
    }
    if (rawBytes > attributed) byPart.set("(glue)", rawBytes - attributed);
    const parts = [...byPart]
      .map(([part, bytes]) => ({ part, bytes, gzipBytes: Math.round((gzipBytes * bytes) / Math.max(rawBytes, attributed)) }))
      .sort((a, b) => b.bytes - a.bytes);
    return { files, rawBytes, gzipBytes, parts };
  });
}

/** The console's assets (public/console), each gzipped on its own as it travels: `{ total, perFile }` in bytes. */
export async function consoleWeights(dir = join(REPO_ROOT, "public", "console")) {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const perFile = {};
  for (const e of entries.filter((x) => x.isFile()).sort((a, b) => join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)))) {
    const file = join(e.parentPath, e.name);
    perFile[relative(dir, file)] = gzipSync(await readFile(file)).length;
  }
  return { total: Object.values(perFile).reduce((a, b) => a + b, 0), perFile };
}
