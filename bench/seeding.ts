// Seeding for the bench's operator-plane scenario, uncounted: runs inside the bench worker.

import type { SystemRecord } from "../src/auth/secret";
import { newBackupId } from "../src/backups/ids";
import { backupKey } from "../src/backups/keys";
import { upsertSystemStatement } from "../src/operator/system-index";
import { bytesToHex } from "../src/platform/codec";
import { rfc3339 } from "../src/platform/time";

/** What the driver sends: an organisation, its systems' records, and an operator token row. */
export interface OperatorFleet {
  org: string;
  systems: { key: string; record: SystemRecord }[];
  /** Column values of an operator_tokens row. */
  token: (string | null)[];
}

/** Seeding, uncounted: an organisation's systems in the index, one small backup each, and an operator token. */
export async function seedOperatorFleet(env: Env, fleet: OperatorFleet): Promise<Response> {
  await env.OPERATOR_DB.prepare("INSERT INTO operator_tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?)").bind(...fleet.token).run();
  for (let i = 0; i < fleet.systems.length; i += 50) {
    const chunk = fleet.systems.slice(i, i + 50);
    await env.OPERATOR_DB.batch(chunk.map(({ key, record }) => upsertSystemStatement(env.OPERATOR_DB, key, record)));
    await Promise.all(
      chunk.map(async ({ key }) => {
        const body = `seed of ${key}`;
        const sha256 = bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body))));
        await env.BACKUPS.put(backupKey({ organizationId: fleet.org, systemKey: key }, newBackupId("seed.tar.gz.gpg")), body, {
          httpMetadata: { contentType: "application/gzip" },
          customMetadata: { filename: "seed.tar.gz.gpg", sha256, uploaded_at: rfc3339(Date.now()), uploader_ip: "127.0.0.1", system_id: "bench" },
        });
      }),
    );
  }
  return Response.json({ systems: fleet.systems.length });
}
