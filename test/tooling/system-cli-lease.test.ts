// The CLI's changes on the stores take the system's change lease, as the worker's changes do
// (scripts/lib/change-lease.mjs, docs/consistency.md): a change held by someone else refuses the
// CLI's and leaves the record as it was; a CLI change counts one more change (download links
// issued before it stop working) and frees the lease; a tombstone left over the API refuses it
// even when the KV record does not show the retire or purge yet. Each test has its own local state.
import { describe, it } from "vitest";
import { type Credentials, d1Rows, freshStates, storedRecord, system, systemJson } from "./harness.ts";

/** Each test gets its own local state, so none depends on another. */
const freshState = freshStates("system-cli-lease-");

const quoted = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** The system's lease row as D1 holds it (null before its first change). */
async function leaseRow(state: string, key: string): Promise<{ holder: string | null; version: number; tombstone: string | null } | null> {
  const rows = await d1Rows(state, `SELECT holder, version, tombstone FROM system_changes WHERE system_key = ${quoted(key)}`);
  return (rows[0] as { holder: string | null; version: number; tombstone: string | null }) ?? null;
}

/** Holds the lease as a change over the API would, until `heldUntil` (ms), with a tombstone if given. */
async function holdLease(state: string, key: string, heldUntil: number, tombstone: string | null = null): Promise<void> {
  await d1Rows(
    state,
    `INSERT INTO system_changes (system_key, holder, held_until, tombstone) VALUES (${quoted(key)}, 'api-change', ${heldUntil}, ${tombstone ? quoted(tombstone) : "NULL"})
     ON CONFLICT (system_key) DO UPDATE SET holder = excluded.holder, held_until = excluded.held_until, tombstone = excluded.tombstone`,
  );
}

describe.concurrent("npm run system on the stores: one order with the API's changes", () => {
  it("refuses while another change holds the system, writing nothing; then changes it, counts the change and frees the lease", async ({ expect }) => {
    const state = freshState();
    const created = await systemJson<Credentials>(state, "create", "--org", "acme", "--json");
    const key = created.system_key;
    const before = (await storedRecord(state, key))!;

    await holdLease(state, key, Date.now() + 60_000);
    for (const args of [["rotate", key], ["delete", key, "--purge"]]) {
      const refused = await system(state, ...args);
      expect(refused.code, args.join(" ")).toBe(1);
      expect(refused.stderr, args.join(" ")).toContain(`another change to ${key} is in progress`);
    }
    expect(await storedRecord(state, key)).toEqual(before);
    expect(await leaseRow(state, key)).toMatchObject({ holder: "api-change" });

    // A lease whose holder stopped without ending it lapses: the CLI takes it over.
    await holdLease(state, key, Date.now() - 1);
    const { version } = (await leaseRow(state, key))!;
    const suspended = await system(state, "suspend", key);
    expect(suspended.code, suspended.stderr).toBe(0);
    expect((await storedRecord(state, key))!.suspended_at).not.toBeNull();
    expect(await leaseRow(state, key)).toEqual({ holder: null, version: version + 1, tombstone: null });

    const rotated = await systemJson<Credentials>(state, "rotate", key, "--json");
    expect(rotated.system_secret).not.toBe(created.system_secret);
    expect(await leaseRow(state, key)).toEqual({ holder: null, version: version + 2, tombstone: null });
  });

  it("a retire leaves the retired tombstone; a tombstone left over the API refuses a change the KV record does not show yet", async ({ expect }) => {
    const state = freshState();
    const [retiring, purged] = await Promise.all([1, 2].map(() => systemJson<Credentials>(state, "create", "--org", "acme", "--json")));

    const retired = await system(state, "delete", retiring.system_key);
    expect(retired.code, retired.stderr).toBe(0);
    expect(await leaseRow(state, retiring.system_key)).toMatchObject({ holder: null, version: 1, tombstone: "retired" });

    // Purged over the API, whose KV write this location has not seen: the record still reads active.
    await holdLease(state, purged.system_key, 0, "purged");
    const before = (await storedRecord(state, purged.system_key))!;
    for (const args of [["rotate", purged.system_key], ["append-only", purged.system_key, "on"]]) {
      const refused = await system(state, ...args);
      expect(refused.code, args.join(" ")).toBe(1);
      expect(refused.stderr, args.join(" ")).toContain(`${purged.system_key} was purged over the API`);
    }
    expect(await storedRecord(state, purged.system_key)).toEqual(before);
    expect(await leaseRow(state, purged.system_key)).toMatchObject({ holder: null, tombstone: "purged" });
  });
});
