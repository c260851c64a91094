// The operator database (D1, bound as OPERATOR_DB) as the wrangler CLI reaches it: the local
// state of `wrangler dev` or the deployed database. Used for operator tokens, and for the index
// row and audit event of every credential change the CLI makes.
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runOnTarget } from "./kv.mjs";
import { withTempDir } from "../harness/temp-dir.mjs";
import { WranglerError } from "../harness/wrangler.mjs";

const BINDING = "OPERATOR_DB";

/** An SQL literal: NULL, a number, or a single-quoted string with its quotes doubled. */
export function sqlLiteral(value) {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return value ? "1" : "0";
  return `'${String(value).replace(/'/g, "''")}'`;
}

/** Operations on the operator database of a target (the same target as the KV commands). */
export function operatorDb(target) {
  const flags = target.remote ? ["--remote"] : ["--local", "--persist-to", target.persistTo];
  if (target.env) flags.push("--env", target.env);
  const migrate = () => runOnTarget(target, ["d1", "migrations", "apply", BINDING, ...flags]);
  const execute = (sql) =>
    withTempDir("backup-vault-d1-", async (dir) => {
      // Through a file: statements never appear in a process list, and any length goes.
      const file = join(dir, "statements.sql");
      await writeFile(file, sql, { mode: 0o600 });
      return JSON.parse(await runOnTarget(target, ["d1", "execute", BINDING, "--json", "--file", file, ...flags]));
    });
  // Two CLI runs on a fresh state may both apply the migrations: the loser's failure is moot
  // when the winner's schema is there (the statement that follows shows whether it is).
  const migrateTolerantly = () => migrate().catch(() => {});
  return {
    target,

    /**
     * Runs SQL statements (one batch); returns the rows of the last one. Locally, a database
     * without the schema yet gets the migrations applied first (remotely, see docs/deployment.md).
     */
    async query(sql) {
      // A local state that never had a D1 database: migrate first rather than fail once.
      if (!target.remote && !existsSync(join(target.persistTo, "v3", "d1"))) await migrateTolerantly();
      let results;
      try {
        results = await execute(sql);
      } catch (error) {
        if (target.remote || !(error instanceof WranglerError) || !/no such table/.test(error.output + error.message)) throw error;
        await migrateTolerantly();
        results = await execute(sql);
      }
      const last = Array.isArray(results) ? results[results.length - 1] : results;
      return last?.results ?? [];
    },

    /** Applies the migrations in migrations/ (idempotent). */
    migrate,
  };
}
