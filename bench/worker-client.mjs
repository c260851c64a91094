// The bench worker's routes as the driver calls them: the API as an appliance calls it, the
// bare baseline routes under /__bench/, and the binding-call counters. Every answer is checked.
import { generateSystemCredentials, hashLegacySecret } from "../src/auth/secret.ts";
import { basicAuthorization } from "../scripts/harness/basic-auth.mjs";

/** A client of the bench worker over `http` (load.mjs's httpClient). */
export function benchWorkerClient(http) {
  const expect = (res, status, what) => {
    if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${res.text ?? ""}`.trim());
    return res;
  };
  const auth = (sys) => ({ Authorization: sys.auth });
  const object = (key) => `/__bench/object?key=${encodeURIComponent(key)}`;
  return {
    /** A new system in a new organisation named after `org`: `{ organizationId, systemKey, auth }` (a key scope for src/backups/keys.ts). */
    /** `legacyAuth` is the same system's imported legacy credentials (the older protocol's). */
    async newSystem(org) {
      const { systemKey, systemSecret, record } = await generateSystemCredentials(`${org}-${Date.now().toString(36)}`);
      const legacySecret = `legacy-${crypto.randomUUID()}`;
      record.legacy_secret_sha256 = await hashLegacySecret(legacySecret);
      expect(await http.request("PUT", `/__bench/system?key=${systemKey}`, { body: JSON.stringify(record), keep: true }), 200, "seed system");
      return { organizationId: record.organization_id, systemKey, auth: basicAuthorization(systemKey, systemSecret), legacyAuth: basicAuthorization(record.system_id, legacySecret) };
    },
    async seedBackups(sys, count) {
      const body = JSON.stringify({ organization_id: sys.organizationId, system_key: sys.systemKey, count });
      expect(await http.request("POST", "/__bench/backups", { body, keep: true }), 200, "seed backups");
    },
    async upload(sys, body, { digest, status = 201 } = {}) {
      const headers = { ...auth(sys), "Content-Type": "application/octet-stream", "X-Filename": "backup-1712887200.tar.gz.gpg" };
      if (digest) headers["X-Checksum-SHA256"] = digest;
      const res = expect(await http.request("POST", "/api/systems/backups", { headers, body, keep: true }), status, "upload");
      const meta = JSON.parse(res.text).data;
      if (meta.size !== body.length) throw new Error(`upload stored ${meta.size} bytes, sent ${body.length}`);
      return { ...meta, ms: res.ms };
    },
    async list(sys) {
      const res = expect(await http.request("GET", "/api/systems/backups", { headers: auth(sys), keep: true }), 200, "list");
      return JSON.parse(res.text).data.backups;
    },
    /** The older protocol: `GET /enterprise/api/v2/backup/` and `PUT …/{name}` with the legacy credentials. */
    async legacyList(sys) {
      const res = expect(await http.request("GET", "/enterprise/api/v2/backup/", { headers: { Authorization: sys.legacyAuth }, keep: true }), 200, "legacy list");
      return JSON.parse(res.text).backups;
    },
    legacyListRaw: (sys) => http.request("GET", "/enterprise/api/v2/backup/", { headers: { Authorization: sys.legacyAuth } }),
    async legacyUpload(sys, body, { status = 201 } = {}) {
      const headers = { Authorization: sys.legacyAuth, Expect: "100-continue" };
      const res = expect(await http.request("PUT", "/enterprise/api/v2/backup/backup-1712887200.tar.gz.gpg", { headers, body, keep: true }), status, "legacy upload");
      return { ...JSON.parse(res.text), ms: res.ms };
    },
    listTimed: async (sys) => expect(await http.request("GET", "/api/systems/backups", { headers: auth(sys) }), 200, "list"),
    listRaw: (sys) => http.request("GET", "/api/systems/backups", { headers: auth(sys) }),
    baselineList: async (sys) => expect(await http.request("GET", `/__bench/list?key=${sys.systemKey}`, { keep: true }), 200, "baseline list"),
    baselineListRaw: (sys) => http.request("GET", `/__bench/list?key=${sys.systemKey}`),
    async download(sys, id, bytes) {
      const res = expect(await http.request("GET", `/api/systems/backups/${id}`, { headers: auth(sys) }), 200, "download");
      if (res.bytes !== bytes) throw new Error(`download returned ${res.bytes} bytes, expected ${bytes}`);
      return res;
    },
    remove: async (sys, id) => expect(await http.request("DELETE", `/api/systems/backups/${id}`, { headers: auth(sys), keep: true }), 200, "delete"),
    rawPut: async (key, body) => expect(await http.request("PUT", object(key), { body, keep: true }), 200, "bare put"),
    async rawGet(key, bytes) {
      const res = expect(await http.request("GET", object(key)), 200, "bare get");
      if (res.bytes !== bytes) throw new Error(`bare get returned ${res.bytes} bytes, expected ${bytes}`);
      return res;
    },
    bufferedPut: async (key, body) => expect(await http.request("PUT", `/__bench/buffered-object?key=${encodeURIComponent(key)}`, { body, keep: true }), 200, "buffered put"),
    rawCopy: async (from, to, sha256) =>
      expect(await http.request("POST", `/__bench/copy?key=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&sha256=${sha256}`, { keep: true }), 200, "bare copy"),
    settle: async (sys) => expect(await http.request("POST", `/__bench/ledger/settle?org=${encodeURIComponent(sys.organizationId)}`, { keep: true }), 200, "settle").ms,
    rawDelete: async (key) => expect(await http.request("DELETE", object(key), { keep: true }), 200, "bare delete"),
    resetCounters: async () => expect(await http.request("POST", "/__bench/counters/reset", { keep: true }), 200, "reset counters"),
    waited: async () => JSON.parse(expect(await http.request("GET", "/__bench/waited", { keep: true }), 200, "waited").text),
    counters: async () => JSON.parse(expect(await http.request("GET", "/__bench/counters", { keep: true }), 200, "counters").text),
  };
}
