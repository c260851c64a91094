// Configuration: the limits operators set as `[vars]` (parsed and validated once per
// environment), and the fixed deadlines and lifetimes the code relies on, all in one place.

import { ConfigError } from "./errors";
import { log } from "./platform/log";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Deadlines and lifetimes of the service (fixed; docs/configuration.md explains each). */
export const TIMINGS = {
  /** How long the credential read from KV may take before the request is answered 503. */
  kvDeadlineMs: 10 * SECOND,
  /** KV's edge cache for credential reads: the lowest value KV accepts; bounds revocation delay. */
  credentialCacheTtlSeconds: 30,
  /** How long an R2 metadata call (list, head, get until its headers, delete) may take. */
  r2DeadlineMs: 15 * SECOND,
  /** How long one call to the operator database (D1, a statement or a batch) may take before a 503. */
  d1DeadlineMs: 10 * SECOND,
  /** How long the worker waits for the organisation ledger before answering 503. */
  ledgerDeadlineMs: 10 * SECOND,
  /**
   * The pace an upload body must keep: every `bodySliceBytes` (or the rest of the body) must
   * arrive within `bodyWindowMs` of waiting for the client, the first one within
   * `bodyGraceMs` more; else 408. That is at least 16 KiB/s, and a stall is cut off in 32 s.
   */
  bodyMinBytesPerSecond: 16 * 1024,
  bodyWindowMs: 32 * SECOND,
  bodyGraceMs: 30 * SECOND,
  /** How fast a final R2 write must proceed once the body is in: its deadline grows with the size. */
  finalWriteBytesPerSecond: 1024 * 1024,
  /** Retry interval for prunes whose R2 delete failed. */
  pruneRetryMs: MINUTE,
  /** How often a ledger reconciles its rows with an R2 listing of its organisation. */
  reconcileEveryMs: 24 * HOUR,
  /** UTC hours [from, to) in which the daily reconciliation may run: the fleet uploads from 00:00 to 06:00. */
  reconcileHoursUtc: [6, 24] as const,
  /** Objects per R2 listing page of a ledger rebuild or reconciliation: one page per step. */
  syncPageSize: 1000,
  /** How long the legacy credential delegate (LEGACY_AUTH_URL) may take before the request is answered 503. */
  legacyDelegateDeadlineMs: 5 * SECOND,
} as const;

/** Bytes of one paced slice of an upload body (16 KiB/s × 32 s = 512 KiB). */
export const BODY_SLICE_BYTES = (TIMINGS.bodyMinBytesPerSecond * TIMINGS.bodyWindowMs) / SECOND;

/** Deadline of a final R2 write of `size` bytes, counted from when its body is complete: 15 s plus 1 s per MiB. */
export function finalWriteDeadlineMs(size: number): number {
  return TIMINGS.r2DeadlineMs + Math.ceil((size / TIMINGS.finalWriteBytesPerSecond) * SECOND);
}

/**
 * The longest an upload of `size` bytes may take and still succeed: its body at the minimum
 * pace, two R2 writes of its size at their deadlines (a split backup's blob, then its entry of no
 * bytes), one more R2 call (the newest backup's head) and the ledger calls. A reservation
 * lives this long (plus a minute), so no upload that is allowed to finish outlives it.
 */
export function uploadLifetimeMs(size: number): number {
  const slices = Math.ceil((size + 1) / BODY_SLICE_BYTES);
  const body = TIMINGS.bodyGraceMs + slices * TIMINGS.bodyWindowMs;
  return body + 2 * finalWriteDeadlineMs(size) + TIMINGS.r2DeadlineMs + 3 * TIMINGS.ledgerDeadlineMs + MINUTE;
}

/** Limits of the service, parsed once per environment from the `[vars]` strings. */
export interface Limits {
  /** Largest accepted upload body, in bytes. */
  maxUploadSize: number;
  /** Newest backups kept per system (the rotating tier). */
  maxPerSystem: number;
  /** Bytes kept per system by the rotating tier; a single larger upload is refused. */
  maxSizePerSystem: number;
  /** Bytes per organisation; 0 disables the quota. */
  maxSizePerOrg: number;
  /** Uploads per system per rolling minute / hour; 0 disables. */
  rateLimitPerMinute: number;
  rateLimitPerHour: number;
  /** The protected tier: the newest backup (committed ≥ 24 h ago) of each of the last N UTC days, ISO weeks, calendar months; 0 disables each. */
  protectDaily: number;
  protectWeekly: number;
  protectMonthly: number;
  /** Days an audit event is kept. */
  auditRetentionDays: number;
  /** Bodies up to this many bytes are read into memory and written once; larger ones stream. 0 streams all. */
  bufferedUploadMax: number;
  /** Days a removed backup (deleted, pruned, purged) stays recoverable before the hourly cron erases it. */
  recoveryDays: number;
}

type Spec = { min: number; max: number };
const VARIABLES: Record<keyof Limits, [name: keyof Env & string, spec: Spec]> = {
  maxUploadSize: ["BACKUP_MAX_UPLOAD_SIZE", { min: 1, max: 5 * 1024 ** 3 }],
  maxPerSystem: ["BACKUP_MAX_PER_SYSTEM", { min: 1, max: 10_000 }],
  maxSizePerSystem: ["BACKUP_MAX_SIZE_PER_SYSTEM", { min: 1, max: 2 ** 50 }],
  maxSizePerOrg: ["BACKUP_MAX_SIZE_PER_ORG", { min: 0, max: 2 ** 53 - 1 }],
  rateLimitPerMinute: ["BACKUP_RATE_LIMIT_PER_MINUTE", { min: 0, max: 1_000_000 }],
  rateLimitPerHour: ["BACKUP_RATE_LIMIT_PER_HOUR", { min: 0, max: 1_000_000 }],
  protectDaily: ["BACKUP_PROTECT_DAILY", { min: 0, max: 366 }],
  protectWeekly: ["BACKUP_PROTECT_WEEKLY", { min: 0, max: 260 }],
  protectMonthly: ["BACKUP_PROTECT_MONTHLY", { min: 0, max: 120 }],
  auditRetentionDays: ["AUDIT_RETENTION_DAYS", { min: 1, max: 36_500 }],
  // Held whole in the isolate's 128 MB, beside every other request it serves (docs/appliance-plane.md, "How an upload is stored").
  bufferedUploadMax: ["BACKUP_BUFFERED_UPLOAD_MAX", { min: 0, max: 16 * 1024 ** 2 }],
  // At least a day: no API call may destroy a backup at once (docs/recovery.md).
  recoveryDays: ["RECOVERY_DAYS", { min: 1, max: 3650 }],
};

const parsed = new WeakMap<object, Limits>();
let orgQuotaWarned = false;

/** Returns the validated limits for this environment, parsing the variables on first use only. */
export function limitsOf(env: Env): Limits {
  const cached = parsed.get(env);
  if (cached) return cached;
  const limits = parseLimits(env as unknown as Record<string, unknown>);
  parsed.set(env, limits);
  if (limits.maxSizePerOrg === 0 && !orgQuotaWarned) {
    orgQuotaWarned = true;
    log.warn("config", { message: "BACKUP_MAX_SIZE_PER_ORG is 0: the organisation quota is disabled" });
  }
  return limits;
}

/** When a backup removed at `removedAt` (ms) leaves its recovery window: RECOVERY_DAYS later, on a whole second (as the API shows it). */
export function eraseAfter(removedAt: number, limits: Pick<Limits, "recoveryDays">): number {
  return Math.ceil((removedAt + limits.recoveryDays * 24 * HOUR) / SECOND) * SECOND;
}

/** Parses and validates every limit; throws ConfigError naming the first bad variable. */
export function parseLimits(vars: Record<string, unknown>): Limits {
  const limits = {} as Limits;
  for (const [field, [name, { min, max }]] of Object.entries(VARIABLES) as [keyof Limits, [string, Spec]][]) {
    const raw = vars[name];
    if (typeof raw !== "string" && typeof raw !== "number") throw new ConfigError(`${name} is not set`);
    const text = String(raw).trim();
    if (!/^\d{1,16}$/.test(text)) throw new ConfigError(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    const value = Number(text);
    if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
    limits[field] = value;
  }
  return limits;
}

/** The secret that signs download links (a `wrangler secret`); ConfigError (500) when missing or short. */
export function downloadLinkSecret(env: Env): string {
  const secret: unknown = env.DOWNLOAD_LINK_SECRET;
  if (typeof secret !== "string" || secret.length < 16) throw new ConfigError("DOWNLOAD_LINK_SECRET is not set or shorter than 16 characters");
  return secret;
}

/** How the older service's protocol checks legacy credentials (docs/api/legacy.md, "Credentials"). */
export interface LegacyAuthConfig {
  /** The delegate's URL (LEGACY_AUTH_URL); null: imported mode (the record's salted hash). */
  delegateUrl: string | null;
  /** Seconds a delegate's positive answer is kept (as a salted hash); a negative one is kept for a tenth of it, at most 60 s. */
  positiveSeconds: number;
  negativeSeconds: number;
  /** The organisation that systems accepted by the delegate but unknown to the vault join on first contact; null: they get 401. */
  enrolOrganization: string | null;
}

const legacyParsed = new WeakMap<object, LegacyAuthConfig>();

/** The legacy credential settings of this environment, parsed once; ConfigError names a bad variable. */
export function legacyAuthOf(env: Env): LegacyAuthConfig {
  const cached = legacyParsed.get(env);
  if (cached) return cached;
  const vars = env as unknown as Record<string, unknown>;
  const text = (name: string) => (typeof vars[name] === "string" ? (vars[name] as string).trim() : "");
  const url = text("LEGACY_AUTH_URL");
  if (url !== "" && !/^https?:\/\/[^\s/]+/.test(url)) throw new ConfigError(`LEGACY_AUTH_URL must be an http(s) URL, got ${JSON.stringify(url)}`);
  const rawSeconds = text("LEGACY_AUTH_CACHE_SECONDS") || "600";
  if (!/^\d{1,6}$/.test(rawSeconds)) throw new ConfigError(`LEGACY_AUTH_CACHE_SECONDS must be a non-negative integer, got ${JSON.stringify(rawSeconds)}`);
  const positiveSeconds = Number(rawSeconds);
  const org = text("LEGACY_ENROL_ORG");
  if (org !== "" && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(org)) throw new ConfigError(`LEGACY_ENROL_ORG must be a valid organization id, got ${JSON.stringify(org)}`);
  const config: LegacyAuthConfig = {
    delegateUrl: url === "" ? null : url,
    positiveSeconds,
    negativeSeconds: Math.min(60, Math.floor(positiveSeconds / 10)),
    enrolOrganization: org === "" ? null : org,
  };
  legacyParsed.set(env, config);
  return config;
}
