// The ledger's small named values (organisation id, build and reconciliation times, the state
// of a paged pass), in its `meta` table.

/** Reads and writes the ledger's `meta` table. */
export class LedgerMeta {
  constructor(private readonly sql: SqlStorage) {}

  get(name: string): string | undefined {
    return this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE name = ?", name).toArray()[0]?.value;
  }

  set(name: string, value: string): void {
    this.sql.exec("INSERT INTO meta VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", name, value);
  }

  delete(name: string): void {
    this.sql.exec("DELETE FROM meta WHERE name = ?", name);
  }

  /** A JSON value, or undefined when absent. */
  getJson<T>(name: string): T | undefined {
    const text = this.get(name);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }
}
