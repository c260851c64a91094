// The ledger's SQLite schema, as a list of named migrations applied once each, in order, in a
// transaction with their record. A ledger created by an earlier version upgrades in place; to
// change the schema, append a migration (never edit one that has shipped).

import { RECOVERABLE_TOTAL, RUNNING_TOTALS } from "./totals";

interface Migration {
  name: string;
  statements: string[];
}

const MIGRATIONS: Migration[] = [
  {
    // The first version's tables (they exist already in ledgers created by it).
    name: "v1",
    statements: [
      "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
      `CREATE TABLE IF NOT EXISTS backups (
        system_key TEXT NOT NULL, id TEXT NOT NULL, size INTEGER NOT NULL,
        doomed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (system_key, id))`,
      "CREATE TABLE IF NOT EXISTS reservations (token TEXT PRIMARY KEY, system_key TEXT NOT NULL, size INTEGER NOT NULL, expires_at INTEGER NOT NULL)",
      "CREATE TABLE IF NOT EXISTS uploads (system_key TEXT NOT NULL, at INTEGER NOT NULL)",
      "CREATE INDEX IF NOT EXISTS uploads_by_system ON uploads (system_key, at)",
    ],
  },
  {
    // Retention ages backups by when the server committed them (null: a row from before, aged by its id).
    name: "commit-time",
    statements: ["ALTER TABLE backups ADD COLUMN committed_at INTEGER"],
  },
  {
    // Admission reads two running totals instead of summing every row.
    name: "running-totals",
    statements: RUNNING_TOTALS,
  },
  {
    // Every query on the hot path or in a paged step uses an index: expiries, the prune retry,
    // and the object-key order in which R2 lists (and reconciliation compares) backups.
    name: "hot-path-indexes",
    statements: [
      "CREATE INDEX IF NOT EXISTS reservations_by_expiry ON reservations (expires_at)",
      "CREATE INDEX IF NOT EXISTS uploads_by_time ON uploads (at)",
      "CREATE INDEX IF NOT EXISTS backups_doomed ON backups (system_key, id) WHERE doomed = 1",
      "CREATE INDEX IF NOT EXISTS backups_by_object_key ON backups (system_key || '/' || id)",
    ],
  },
  {
    // Keys deleted while a rebuild or reconciliation page was being listed must not come back.
    name: "tombstones",
    statements: [
      "CREATE TABLE IF NOT EXISTS tombstones (object_key TEXT PRIMARY KEY, at INTEGER NOT NULL)",
      "CREATE INDEX IF NOT EXISTS tombstones_by_time ON tombstones (at)",
    ],
  },
  {
    // The digest of each backup, so that a retry of the newest backup is recognised (null: not known yet; reconciliation fills it).
    name: "backup-digest",
    statements: ["ALTER TABLE backups ADD COLUMN sha256 TEXT"],
  },
  {
    // Systems being purged or moved, or gone: no reservation or commit for them (seals.ts).
    name: "seals",
    statements: ["CREATE TABLE IF NOT EXISTS seals (system_key TEXT PRIMARY KEY, reason TEXT NOT NULL, at INTEGER NOT NULL)"],
  },
  {
    // The recovery window (docs/recovery.md): removed backups, their removal and their state
    // (moving → held → restoring, or restored while a bucket lock keeps the copy), purged
    // systems, and the recoverable bytes as a running total (apart from `totals`: never quota).
    name: "recovery-window",
    statements: [
      `CREATE TABLE IF NOT EXISTS recoverable (
        system_key TEXT NOT NULL, id TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT, filename TEXT,
        uploaded_at INTEGER, removed_at INTEGER NOT NULL, removed_by TEXT NOT NULL, reason TEXT NOT NULL,
        erase_after INTEGER NOT NULL, state TEXT NOT NULL, PRIMARY KEY (system_key, id))`,
      "CREATE INDEX IF NOT EXISTS recoverable_by_erase ON recoverable (erase_after)",
      "CREATE INDEX IF NOT EXISTS recoverable_in_flight ON recoverable (state) WHERE state IN ('moving', 'restoring')",
      "CREATE INDEX IF NOT EXISTS recoverable_pruned ON recoverable (removed_at) WHERE reason = 'pruned' AND state = 'held'",
      "CREATE TABLE IF NOT EXISTS purges (system_key TEXT PRIMARY KEY, removed_at INTEGER NOT NULL, removed_by TEXT NOT NULL, erase_after INTEGER NOT NULL, state TEXT NOT NULL)",
      ...RECOVERABLE_TOTAL,
    ],
  },
];

/** Brings the ledger's schema up to date: each migration not yet recorded runs once, atomically with its record. */
export function migrateLedger(storage: DurableObjectStorage): void {
  const sql = storage.sql;
  sql.exec("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const applied = new Set(sql.exec<{ name: string }>("SELECT name FROM migrations").toArray().map((r) => r.name));
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.name)) continue;
    storage.transactionSync(() => {
      for (const statement of migration.statements) sql.exec(statement);
      sql.exec("INSERT INTO migrations VALUES (?, ?)", migration.name, Date.now());
    });
  }
}
