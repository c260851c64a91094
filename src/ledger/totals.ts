// Running totals of the bytes an organisation holds: committed backups (pruned ones included
// until R2 confirms their deletion) and reservations in flight. SQLite triggers keep them on
// every insert, delete and size change, so admission reads two numbers instead of summing
// every row, and no code path can forget to update them.

/** The migration that creates the totals, seeds them from the rows already there, and installs the triggers. */
export const RUNNING_TOTALS = [
  "CREATE TABLE IF NOT EXISTS totals (name TEXT PRIMARY KEY, bytes INTEGER NOT NULL)",
  "INSERT OR REPLACE INTO totals SELECT 'committed', COALESCE(SUM(size), 0) FROM backups",
  "INSERT OR REPLACE INTO totals SELECT 'reserved', COALESCE(SUM(size), 0) FROM reservations",
  "CREATE TRIGGER IF NOT EXISTS backups_added AFTER INSERT ON backups BEGIN UPDATE totals SET bytes = bytes + NEW.size WHERE name = 'committed'; END",
  "CREATE TRIGGER IF NOT EXISTS backups_removed AFTER DELETE ON backups BEGIN UPDATE totals SET bytes = bytes - OLD.size WHERE name = 'committed'; END",
  "CREATE TRIGGER IF NOT EXISTS backups_resized AFTER UPDATE OF size ON backups BEGIN UPDATE totals SET bytes = bytes - OLD.size + NEW.size WHERE name = 'committed'; END",
  "CREATE TRIGGER IF NOT EXISTS reservations_added AFTER INSERT ON reservations BEGIN UPDATE totals SET bytes = bytes + NEW.size WHERE name = 'reserved'; END",
  "CREATE TRIGGER IF NOT EXISTS reservations_removed AFTER DELETE ON reservations BEGIN UPDATE totals SET bytes = bytes - OLD.size WHERE name = 'reserved'; END",
];

/** Committed plus reserved bytes, in constant time. */
export function usageTotal(sql: SqlStorage): number {
  return sql.exec<{ bytes: number }>("SELECT COALESCE(SUM(bytes), 0) AS bytes FROM totals").one().bytes;
}

/** The recoverable bytes (every row of `recoverable`), kept by triggers in a table of its own: never part of the quota. */
export const RECOVERABLE_TOTAL = [
  "CREATE TABLE IF NOT EXISTS recovery_totals (name TEXT PRIMARY KEY, bytes INTEGER NOT NULL)",
  "INSERT OR REPLACE INTO recovery_totals SELECT 'recoverable', COALESCE(SUM(size), 0) FROM recoverable",
  "CREATE TRIGGER IF NOT EXISTS recoverable_added AFTER INSERT ON recoverable BEGIN UPDATE recovery_totals SET bytes = bytes + NEW.size; END",
  "CREATE TRIGGER IF NOT EXISTS recoverable_removed AFTER DELETE ON recoverable BEGIN UPDATE recovery_totals SET bytes = bytes - OLD.size; END",
  "CREATE TRIGGER IF NOT EXISTS recoverable_resized AFTER UPDATE OF size ON recoverable BEGIN UPDATE recovery_totals SET bytes = bytes - OLD.size + NEW.size; END",
];

/** Recoverable bytes, in constant time. */
export function recoverableTotal(sql: SqlStorage): number {
  return sql.exec<{ bytes: number }>("SELECT bytes FROM recovery_totals").one().bytes;
}
