// Applies the D1 migrations to the test database before each test file (already-applied ones are skipped).
import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}

await applyD1Migrations(env.OPERATOR_DB, env.TEST_MIGRATIONS);
