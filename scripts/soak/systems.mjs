// The soak's systems: fresh credentials in several organisations, written to the local KV, and
// what the run learns of each system's backups (checked during traffic and in the audit).
import { createHash, randomBytes } from "node:crypto";
import { generateSystemCredentials } from "../../src/auth/secret.ts";
import { basicAuthorization } from "../harness/basic-auth.mjs";
import { kvTarget, systemsKv } from "../lib/kv.mjs";

/** Hex SHA-256 of some bytes, as the API lists it. */
export const sha256Hex = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** Makes `count` systems spread over `orgs` new organisations, their records put in the local KV under `persistTo`. */
export async function seedSystems(persistTo, { count, orgs: orgCount }) {
  const orgs = Array.from({ length: orgCount }, (_, i) => `soak_org_${i}_${randomBytes(3).toString("hex")}`);
  const systems = [];
  for (let i = 0; i < count; i++) {
    const { systemKey, systemSecret, record } = await generateSystemCredentials(orgs[i % orgs.length]);
    systems.push({
      key: systemKey,
      secret: systemSecret,
      org: record.organization_id,
      record,
      authorization: basicAuthorization(systemKey, systemSecret),
      uploaded: new Map(), // id -> { sha256, size } for every 201
      deleted: new Set(), // ids this system deleted itself (200)
      known: [], // ids seen in its own lists or uploads, to pick downloads from
      pending: 0, // uploads in flight: their objects may be listed before their 201 arrives
      started: 0, // uploads ever started
      unconfirmed: new Map(), // id -> sha256 listed before its upload's 201 was seen; checked in the audit
    });
  }
  await systemsKv(kvTarget({ persistTo })).bulkPut(systems.map((s) => ({ key: s.key, value: JSON.stringify(s.record) })));
  return systems;
}

/** Request headers that authenticate as `system`. */
export const authAs = (system, extra = {}) => ({ Authorization: system.authorization, ...extra });
