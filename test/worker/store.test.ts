// The R2 store on its own: each function called directly against the local bucket, with faults
// injected through the one binding wrapper (fault-bindings.ts).

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/backups/ids";
import { backupKey, systemPrefix } from "../../src/backups/keys";
import { getBackupBody, isChecksumMismatch, listSystemBackups, putObject } from "../../src/backups/store";
import { StorageUnavailableError } from "../../src/errors";
import { FaultInjector } from "./fault-bindings";
import { newOrg, patternBytes, sha256Hex } from "./helpers";

function scope() {
  return { organizationId: newOrg(), systemKey: `NETH-${crypto.randomUUID()}` };
}

describe("backups/store", () => {
  it("putObject with a wrong sha256 fails as a checksum mismatch and stores nothing", async () => {
    const key = backupKey(scope(), `${uuidv7()}.gpg`);
    const failure = await putObject(env.BACKUPS, key, patternBytes(100), { sha256: "0".repeat(64) }).catch((e) => e);
    expect(failure).toBeInstanceOf(StorageUnavailableError);
    expect(isChecksumMismatch(failure)).toBe(true);
    expect(await env.BACKUPS.head(key)).toBeNull();
    const stored = await putObject(env.BACKUPS, key, patternBytes(100), { sha256: await sha256Hex(patternBytes(100)) });
    expect(stored.size).toBe(100);
  });

  it("getBackupBody serves a range, null for no object, and the size for a range past the end", async () => {
    const key = backupKey(scope(), `${uuidv7()}.bin`);
    await env.BACKUPS.put(key, patternBytes(1000));
    const part = await getBackupBody(env.BACKUPS, key, { offset: 10, length: 5 });
    expect(part && "body" in part ? new Uint8Array(await part.arrayBuffer()) : null).toEqual(patternBytes(1000).slice(10, 15));
    expect(await getBackupBody(env.BACKUPS, key, { offset: 5000 })).toMatchObject({ unsatisfiable: true, object: { size: 1000 } });
    expect(await getBackupBody(env.BACKUPS, backupKey(scope(), `${uuidv7()}.bin`))).toBeNull();
  });

  it("listSystemBackups follows every page, newest first, and leaves out objects without a digest", async () => {
    const system = scope();
    const ids = Array.from({ length: 130 }, (_, i) => `${uuidv7(Date.now() - 1000 * i)}.gpg`);
    // Stored oldest first: newest first is commit order (R2's time), which then agrees with the ids.
    for (const id of [...ids].reverse()) await env.BACKUPS.put(backupKey(system, id), "b", { customMetadata: { sha256: "a".repeat(64), filename: id } });
    await env.BACKUPS.put(backupKey(system, `${uuidv7()}.gpg`), "no digest");
    const counting = new FaultInjector();
    const listed = await listSystemBackups(counting.wrap(env.BACKUPS, "BACKUPS"), systemPrefix(system));
    expect(listed.map((b) => b.id)).toEqual([...ids].sort().reverse());
    expect(counting.callsTo("BACKUPS", "list").length).toBeGreaterThan(1); // more than one page was read
  });
});
