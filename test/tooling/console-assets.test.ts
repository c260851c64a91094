// The operator console's static assets (public/), checked without a browser: size, self-containment,
// the Content-Security-Policy in public/_headers, and the routing that keeps the API first.
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { CONSOLE_BUDGET_GZIP_BYTES, consoleWeights } from "../../scripts/harness/bundle-weights.mjs";
import { ROOT } from "./harness.ts";

const PUBLIC = join(ROOT, "public");
const CONSOLE = join(PUBLIC, "console");

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
}

describe("the console's assets", () => {
  it("fit in 80 KiB gzipped, page and assets together", async () => {
    // The harness's measure, the one the bench reports (each file gzipped on its own, as it travels).
    const { total, perFile } = await consoleWeights(CONSOLE);
    console.log(`console assets: ${(total / 1024).toFixed(1)} KiB gzipped`, perFile);
    expect(total).toBeGreaterThan(1000); // the files are there
    expect(total).toBeLessThanOrEqual(CONSOLE_BUDGET_GZIP_BYTES);
  });

  it("name no other origin and carry no inline script, style or handler", async () => {
    for (const file of await files(CONSOLE)) {
      // An SVG's namespace is a name, not a request.
      const text = (await readFile(file, "utf8")).replace('xmlns="http://www.w3.org/2000/svg"', "");
      const name = relative(ROOT, file);
      expect(text, `${name} names a URL`).not.toMatch(/\b(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
      if (file.endsWith(".css")) expect(text, `${name} loads a font or an image`).not.toMatch(/@import|@font-face|url\(/i);
      if (file.endsWith(".html")) {
        expect(text, name).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
        expect(text, name).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
      }
      if (file.endsWith(".js")) expect(text, `${name} builds markup from strings`).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    }
  });

  it("import only modules that exist", async () => {
    for (const file of (await files(CONSOLE)).filter((f) => f.endsWith(".js"))) {
      const text = await readFile(file, "utf8");
      for (const [, specifier] of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom "([^"]+)"/gm)) {
        expect(specifier, `${relative(ROOT, file)} imports ${specifier}`).toMatch(/^\.\.?\//);
        await expect(readFile(join(file, "..", specifier)), `${relative(ROOT, file)} imports ${specifier}`).resolves.toBeDefined();
      }
    }
  });

  it("are served with a Content-Security-Policy that allows scripts from the console's own origin only", async () => {
    const headers = await readFile(join(PUBLIC, "_headers"), "utf8");
    const block = headers.slice(headers.indexOf("/console/*"));
    const csp = /Content-Security-Policy: (.+)/.exec(block)?.[1] ?? "";
    const directives = Object.fromEntries(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
    expect(directives["default-src"]).toEqual(["'none'"]);
    expect(directives["script-src"]).toEqual(["'self'"]);
    expect(directives["style-src"]).toEqual(["'self'"]);
    expect(directives["connect-src"]).toEqual(["'self'"]);
    expect(directives["frame-ancestors"]).toEqual(["'none'"]);
    expect(block).toMatch(/Referrer-Policy: no-referrer/);
  });

  it("never shadow the API: wrangler.toml runs the worker first for /api/* and the older protocol's paths", async () => {
    const toml = await readFile(join(ROOT, "wrangler.toml"), "utf8");
    const assets = toml.slice(toml.indexOf("[assets]"));
    expect(assets).toMatch(/directory = "\.\/public"/);
    expect(assets).toMatch(/run_worker_first = \["\/api\/\*", "\/enterprise\/\*", "\/community\/\*", "\/proxy\/\*"\]/);
  });
});
