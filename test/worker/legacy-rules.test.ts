// The older protocol's rules as pure functions: the first upload of a UTC day (over generated
// times), the legacy secret's verification, the refusal reasons, and the listing's shape.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateSystemCredentials, hashLegacySecret, verifyLegacySecret } from "../../src/auth/secret";
import { ApiError, UnavailableError } from "../../src/errors";
import { refusalReason } from "../../src/legacy/activity";
import { legacyBackup } from "../../src/legacy/handlers";
import { isFirstOfDay, utcDayStart } from "../../src/ledger/rate-windows";
import { fcParameters } from "./seeds";

const DAY = 86_400_000;

describe("the first upload of a UTC day", { timeout: 30_000 }, () => {
  it("is first exactly when nothing was committed since the day began, whatever the times", () => {
    fc.assert(
      fc.property(fc.integer({ min: DAY, max: 4_000_000_000_000 }), fc.integer({ min: 0, max: 3 * DAY }), (now, ago) => {
        const last = now - ago;
        expect(isFirstOfDay(last, now)).toBe(last < utcDayStart(now));
        expect(isFirstOfDay(null, now)).toBe(true);
      }),
      fcParameters(500),
    );
  });

  it("moves through days: midnight UTC opens a new day", () => {
    const midnight = Date.UTC(2026, 11, 5);
    const lastCommit = midnight - 1; // 23:59:59.999 the day before
    expect(isFirstOfDay(lastCommit, midnight - 1)).toBe(false);
    expect(isFirstOfDay(lastCommit, midnight)).toBe(true);
    expect(isFirstOfDay(midnight, midnight + DAY - 1)).toBe(false);
    expect(isFirstOfDay(midnight, midnight + DAY)).toBe(true);
  });
});

describe("legacy secrets", { timeout: 30_000 }, () => {
  it("only the imported secret of an active record is valid; a matching secret of an inactive one names its state", async () => {
    const { record } = await generateSystemCredentials("org-a");
    const withLegacy = { ...record, legacy_secret_sha256: await hashLegacySecret("the legacy secret") };
    expect(await verifyLegacySecret(withLegacy, "the legacy secret")).toBe("valid");
    expect(await verifyLegacySecret(withLegacy, "the legacy secreT")).toBe("invalid");
    expect(await verifyLegacySecret(record, "the legacy secret")).toBe("invalid"); // nothing imported
    expect(await verifyLegacySecret(null, "the legacy secret")).toBe("invalid");
    expect(await verifyLegacySecret({ ...withLegacy, suspended_at: "2026-01-01T00:00:00Z" }, "the legacy secret")).toBe("suspended");
    expect(await verifyLegacySecret({ ...withLegacy, deleted_at: "2026-01-01T00:00:00Z" }, "the legacy secret")).toBe("deleted");
    expect(await verifyLegacySecret({ ...withLegacy, legacy_secret_sha256: "nothex" }, "the legacy secret")).toBe("invalid");
    expect(await verifyLegacySecret(withLegacy, "x".repeat(600))).toBe("invalid");
  });
});

describe("refusal reasons", { timeout: 30_000 }, () => {
  it("are short stable words for the operator views", () => {
    expect(refusalReason(new ApiError(413, "organization storage quota exceeded"))).toBe("quota");
    expect(refusalReason(new ApiError(413, "backup exceeds the maximum upload size"))).toBe("size");
    expect(refusalReason(new ApiError(429, "upload rate limit exceeded"))).toBe("rate");
    expect(refusalReason(new UnavailableError("backup storage unavailable"))).toBe("unavailable");
    expect(refusalReason(new ApiError(411, "Content-Length required"))).toBe("rejected: Content-Length required");
    expect(refusalReason(new Error("boom"))).toBe("internal error");
  });
});

describe("the older protocol's listing shape", { timeout: 30_000 }, () => {
  it("`created` is the commit time in Unix seconds, a number", () => {
    const item = legacyBackup({ id: "x.gpg", filename: "dump.json.gz.gpg", size: 3, sha256: "0".repeat(64), mimetype: "application/pgp-encrypted", uploaded_at: "2026-12-05T07:00:01Z" });
    expect(item).toEqual({ id: "x.gpg", name: "dump.json.gz.gpg", created: Date.UTC(2026, 11, 5, 7, 0, 1) / 1000, size: 3, mimetype: "application/pgp-encrypted" });
  });
});
