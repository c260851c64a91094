// One bounded record schema: every field of a credential record has a length bound, so the
// custom metadata stored with each backup (system_id, file name, digest, client address) stays
// far below R2's 8 KiB limit. The local R2 here is wrapped to enforce that limit as production does.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { RECORD_BOUNDS } from "../../src/auth/secret";
import { organizationPrefix } from "../../src/backups/keys";
import { BASE, json, keyOf, newSystem, objectKeys, send } from "./helpers";

const R2_METADATA_LIMIT = 8192;

function metadataBytes(metadata: Record<string, string> = {}): number {
  const encoder = new TextEncoder();
  return Object.entries(metadata).reduce((n, [k, v]) => n + encoder.encode(k).length + encoder.encode(v).length, 0);
}

/** The local bucket, refusing (as production R2 does) a put whose custom metadata exceeds 8 KiB. */
function metadataLimited(bucket: R2Bucket): R2Bucket {
  return new Proxy(bucket, {
    get: (target, prop) =>
      prop === "put"
        ? (key: string, value: unknown, options?: R2PutOptions) => {
            const size = metadataBytes(options?.customMetadata as Record<string, string> | undefined);
            if (size > R2_METADATA_LIMIT) return Promise.reject(new Error(`put: metadata of ${size} bytes exceeds the limit (10012)`));
            return target.put(key, value as ReadableStream, options);
          }
        : (Reflect.get(target, prop) as Function).bind(target),
  });
}

function upload(system: { authorization: string }, headers: Record<string, string> = {}) {
  return send(
    new Request(BASE, { method: "POST", body: "bounded", headers: { Authorization: system.authorization, "Content-Length": "7", ...headers } }),
    { BACKUPS: metadataLimited(env.BACKUPS) },
  );
}

describe("credential records within bounds keep backup metadata far below R2's 8 KiB", () => {
  it("the wrapper refuses what production would", async () => {
    await expect(metadataLimited(env.BACKUPS).put("x", "y", { customMetadata: { big: "z".repeat(R2_METADATA_LIMIT) } })).rejects.toThrow("exceeds the limit");
  });

  it("a record at every bound, the longest file name and an oversized client address still upload, with under 1 KiB of metadata", async () => {
    const org = "o".repeat(128);
    const system = await newSystem({ org, record: { system_id: "i".repeat(RECORD_BOUNDS.systemId), registered_at: "2026-04-01T10:00:00.000000000+00:00" } });
    const response = await upload(system, { "X-Filename": "f".repeat(400) + ".tar.gz.gpg", "CF-Connecting-IP": "9".repeat(5000) });
    expect(response.status).toBe(201);
    const { id } = (await json(response)).data;
    const head = (await env.BACKUPS.head(keyOf(system, id)))!;
    expect(head.customMetadata!.system_id).toHaveLength(RECORD_BOUNDS.systemId);
    expect(head.customMetadata!.uploader_ip).toHaveLength(64);
    expect(metadataBytes(head.customMetadata)).toBeLessThan(1024);
  });

  it("a record past a bound is malformed: the worker refuses it as it refuses an unknown key, and stores nothing", async () => {
    for (const record of [
      { system_id: "i".repeat(RECORD_BOUNDS.systemId + 1) },
      { suspended_at: "2026-04-01T10:00:00Z" + " ".repeat(60) },
      { notes: "n".repeat(RECORD_BOUNDS.recordBytes) } as Record<string, unknown>,
    ]) {
      const system = await newSystem({ record });
      const response = await upload(system);
      expect(response.status).toBe(401);
      expect((await json(response)).message).toBe("invalid token");
      expect(await objectKeys(organizationPrefix(system.org))).toEqual([]);
    }
  });
});
