import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { legacyDelegateStub } from "./test/legacy-delegate-stub.mjs";

// Two projects: the worker's tests run inside the Workers runtime (workerd) with local
// KV, R2, D1 and Durable Objects; the operator tooling (scripts/) is tested under Node.
const migrations = await readD1Migrations("./migrations");

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // The D1 schema (applied by test/worker/apply-migrations.ts) and a signing secret for links;
            // every outbound fetch goes to a local stand-in for the legacy credential delegate.
            miniflare: {
              bindings: { TEST_MIGRATIONS: migrations, DOWNLOAD_LINK_SECRET: "test-link-secret-0123456789abcdef" },
              outboundService: legacyDelegateStub,
            },
          }),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          setupFiles: ["./test/worker/apply-migrations.ts"],
          // Seeds and run counts of the property, hostile-input and fault suites (fixed defaults in the suites).
          provide: { FC_SEED: process.env.FC_SEED ?? "", FC_RUNS: process.env.FC_RUNS ?? "" },
        },
      },
      {
        test: { name: "tooling", include: ["test/tooling/**/*.test.ts"], environment: "node", testTimeout: 300_000, hookTimeout: 300_000 },
      },
    ],
  },
});
