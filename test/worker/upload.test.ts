// The upload use case (reserve → ingest → commit, and its undo) called without HTTP, against the
// local bucket and ledger, with faults injected through the one binding wrapper.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { storeUpload, type UploadBindings } from "../../src/api/upload";
import { systemPrefix } from "../../src/backups/keys";
import { parseLimits } from "../../src/config";
import { ApiError, BodyLengthError, UnavailableError } from "../../src/errors";
import { FaultInjector, type FaultPlan } from "./fault-bindings";
import { NO_RATE_LIMITS, newOrg, objectKeys, patternBytes, sha256Hex } from "./helpers";

function newSystem() {
  return { systemKey: `NETH-${crypto.randomUUID()}`, systemId: crypto.randomUUID(), organizationId: newOrg(), appendOnly: false };
}

function bindingsWith(plan: FaultPlan | null, vars: Record<string, unknown> = {}) {
  const injector = new FaultInjector(plan);
  const wrapped = injector.overrides();
  const bindings: UploadBindings = {
    bucket: wrapped.BACKUPS,
    ledger: wrapped.ORG_LEDGER as unknown as UploadBindings["ledger"],
    limits: parseLimits({ ...env, ...NO_RATE_LIMITS, ...vars } as Record<string, unknown>),
  };
  return { injector, bindings };
}

function upload(system: ReturnType<typeof newSystem>, bytes: Uint8Array, length = bytes.byteLength) {
  return { system, body: new Blob([bytes]).stream(), length, filename: "backup-1.tar.gz.gpg", clientSha256: null, clientAddress: "192.0.2.1" };
}

const usage = (org: string) => env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org)).usageBytes(org);

describe("api/upload: storeUpload", () => {
  it("stores the bytes under the system's prefix with their digest, and the ledger counts them", async () => {
    const system = newSystem();
    const { bindings } = bindingsWith(null);
    const bytes = patternBytes(5000);
    const { backup } = await storeUpload(bindings, upload(system, bytes));
    expect(backup).toMatchObject({ size: 5000, sha256: await sha256Hex(bytes), filename: "backup-1.tar.gz.gpg", mimetype: "application/pgp-encrypted" });
    expect(await objectKeys(systemPrefix(system))).toEqual([systemPrefix(system) + backup.id]);
    expect(await usage(system.organizationId)).toBe(5000);
  });

  it("refuses a size over the limits with 413 before any ledger or storage call", async () => {
    const system = newSystem();
    const { injector, bindings } = bindingsWith(null, { BACKUP_MAX_UPLOAD_SIZE: "100" });
    const failure = await storeUpload(bindings, upload(system, patternBytes(101))).catch((e) => e);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure.status).toBe(413);
    expect(injector.calls).toEqual([]);
  });

  it("a body shorter than declared: BodyLengthError, nothing stored, the reservation released", async () => {
    const system = newSystem();
    const { bindings } = bindingsWith(null);
    await expect(storeUpload(bindings, upload(system, patternBytes(100), 200))).rejects.toBeInstanceOf(BodyLengthError);
    expect(await objectKeys(`${systemPrefix(system)}`)).toEqual([]);
    expect(await usage(system.organizationId)).toBe(0);
  });

  it("a commit that fails twice: 503, the object taken back, the ledger forgets it and releases the reservation", async () => {
    const system = newSystem();
    // The commit is asked twice: one failed ask still stores the backup.
    const once = bindingsWith({ binding: "ORG_LEDGER", method: "commit", nth: 1, mode: "throw" });
    const { backup: kept } = await storeUpload(once.bindings, upload(system, patternBytes(300, 1)));
    expect(once.injector.callsTo("ORG_LEDGER", "commit").length).toBe(2);
    expect(await objectKeys(systemPrefix(system))).toEqual([systemPrefix(system) + kept.id]);
    const before = await objectKeys(systemPrefix(system));
    const failing = new FaultInjector({ binding: "ORG_LEDGER", method: "commit", nth: 1, mode: "throw" });
    const wrapped = failing.overrides();
    const alsoSecond = new FaultInjector({ binding: "ORG_LEDGER", method: "commit", nth: 2, mode: "throw" });
    const bindings: UploadBindings = {
      bucket: wrapped.BACKUPS,
      ledger: alsoSecond.wrapNamespace(wrapped.ORG_LEDGER) as unknown as UploadBindings["ledger"],
      limits: parseLimits({ ...env, ...NO_RATE_LIMITS } as Record<string, unknown>),
    };
    const failure = await storeUpload(bindings, upload(system, patternBytes(400, 9))).catch((e) => e);
    expect(failure).toBeInstanceOf(UnavailableError);
    expect(await objectKeys(systemPrefix(system))).toEqual(before);
    expect(await usage(system.organizationId)).toBe(300);
  });
});
