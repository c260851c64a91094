// The layer order of src/ (docs/layout.md): every import points down, and no two folders
// import each other. Read from the source files themselves, so a new import that runs back up
// a layer fails here.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, it } from "vitest";
import { ROOT } from "./harness.ts";

const SRC = join(ROOT, "src");

/** Rank of each module group, lowest first; a module may import only groups of lower rank, or its own group. */
const LAYERS: [group: string, rank: number][] = [
  ["platform", 0],
  ["errors.ts", 1],
  ["config.ts", 2],
  ["http", 3],
  ["auth", 4],
  ["backups", 4],
  // The operator plane's D1 stores (tokens, index of systems, audit, moves): above auth, whose
  // schemes they read, and below the ledger, which records prunes in the audit trail.
  ["operator", 4.5],
  ["ledger", 5],
  ["api", 6],
  ["admin", 6],
  ["index.ts", 7],
];
const RANK = new Map(LAYERS);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith(".ts") ? [path] : [];
  });
}

/** The group of a file under src/: its top folder, or its own name at the top. */
function groupOf(path: string): string {
  return relative(SRC, path).split(/[\\/]/)[0];
}

/** Every relative import of a file (static, type-only and dynamic), resolved to a path under src/. */
function importsOf(path: string): string[] {
  const text = readFileSync(path, "utf8");
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]);
  return specifiers.map((s) => normalize(join(dirname(path), s.endsWith(".ts") ? s : `${s}.ts`)));
}

describe("src/ layers", () => {
  const files = sourceFiles(SRC);

  it("every module belongs to a known layer", ({ expect }) => {
    expect(files.length).toBeGreaterThan(10);
    expect(files.map(groupOf).filter((g) => !RANK.has(g))).toEqual([]);
  });

  it("every import points down the layer order (or stays in its own folder)", ({ expect }) => {
    const upward: string[] = [];
    for (const file of files) {
      const from = groupOf(file);
      for (const target of importsOf(file)) {
        if (!target.startsWith(SRC)) continue;
        const to = groupOf(target);
        if (to === from) continue;
        if (!(RANK.get(to)! < RANK.get(from)!)) upward.push(`${relative(ROOT, file)} → ${relative(ROOT, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("finds an upward import when there is one (the check itself can fail)", ({ expect }) => {
    const sample = join(SRC, "platform", "x.ts");
    const target = normalize(join(dirname(sample), "../api/handlers.ts"));
    expect(RANK.get(groupOf(target))! < RANK.get(groupOf(sample))!).toBe(false);
    expect(importsOf(join(SRC, "index.ts")).some((p) => groupOf(p) === "api")).toBe(true);
  });
});
