// The README and the guides in docs/: the README stays short, and every relative link in them
// resolves to a file (or folder) inside the repository, so no guide points outside it.
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./harness.ts";

async function markdownFiles(): Promise<string[]> {
  const docs = await readdir(join(ROOT, "docs"), { withFileTypes: true, recursive: true });
  return [join(ROOT, "README.md"), ...docs.filter((e) => e.isFile() && e.name.endsWith(".md")).map((e) => join(e.parentPath, e.name))];
}

/** Relative link targets of a Markdown text (inline links and images), without their #fragment. */
function relativeLinks(text: string): string[] {
  const withoutCode = text.replace(/```[\s\S]*?```/g, "");
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)]
    .map(([, target]) => target!)
    .filter((target) => !/^(?:[a-z]+:|#)/i.test(target))
    .map((target) => target.split("#")[0]!);
}

describe("the README and docs/", () => {
  it("keep the README at 250 lines or fewer", async () => {
    const lines = (await readFile(join(ROOT, "README.md"), "utf8")).split("\n").length;
    expect(lines).toBeLessThanOrEqual(250);
  });

  it("link only to files that exist inside the repository", async () => {
    const files = await markdownFiles();
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const text = await readFile(file, "utf8");
      const name = relative(ROOT, file);
      expect(text, `${name} names a path outside the repository`).not.toMatch(/\/work\/|\.\.\/shared\//);
      for (const target of relativeLinks(text)) {
        const path = resolve(dirname(file), target);
        expect(relative(ROOT, path).startsWith(".."), `${name} links outside the repository: ${target}`).toBe(false);
        await expect(stat(path).then(() => true, () => false), `${name} links to a missing ${target}`).resolves.toBe(true);
      }
    }
  });
});
