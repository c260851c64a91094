// A small in-memory model of the appliance API contract (docs/api/appliance.md), the
// oracle of the property tests: what each request must answer, given what happened before.
// It knows nothing of R2, KV or the ledger; it takes the ids the worker mints from its 201s.
//
// Retention, both tiers, written from the contract and independently of src/backups/retention.ts:
// the rotating tier keeps the newest `maxPerSystem` commits within `maxSizePerSystem` bytes; the
// protected tier keeps, among backups committed at least 24 h before the commit being made, the
// newest of each of the last N UTC days / ISO weeks / months that hold one. The model has its own
// clock (`now`), which the property tests move forward and hand to the worker's ledger.

/** The limits the model enforces (the same values are passed to the worker as overrides). */
export interface ModelLimits {
  maxUploadSize: number;
  maxPerSystem: number;
  maxSizePerSystem: number;
  /** 0 disables. */
  maxSizePerOrg: number;
  protectDaily: number;
  protectWeekly: number;
  protectMonthly: number;
}

export interface ModelBackup {
  id: string;
  filename: string;
  size: number;
  sha256: string;
  mimetype: string;
  uploaded_at: string;
  bytes: Uint8Array;
  /** The ledger's commit time (the model's clock when the 201 was given). */
  committedAt: number;
}

/** A backup in its recovery window (docs/recovery.md): out of the listing and the quota, not destroyed. */
export interface ModelRecoverable {
  backup: ModelBackup;
  reason: "deleted" | "pruned";
  removedAt: number;
  eraseAfter: number;
}

export interface ModelSystem {
  key: string;
  org: string;
  suspended: boolean;
  /** Every secret the system ever had; the last is the current one. */
  secrets: string[];
  /** Newest commit first. */
  backups: ModelBackup[];
  /** What a DELETE or a prune removed and the cron has not erased yet. */
  recoverable: ModelRecoverable[];
}

/** Days a removed backup stays recoverable (wrangler.toml's RECOVERY_DAYS). */
export const RECOVERY_DAYS = 7;

/** Which credential a request carries: the current secret, or one replaced by a rotation. */
export type CredentialKind = "current" | "stale";

/** What an upload must answer, before the worker has minted an id. */
export type UploadExpectation =
  | { status: 401 | 400 | 413; reason: string }
  | { status: 201; extension: string; filename: string | RegExp }
  /** A retry: the bytes are the system's newest backup, so nothing is stored and that backup is the answer. */
  | { status: 200; backup: ModelBackup };

/** The id extensions of the contract, longest match first. */
export const EXTENSIONS = [".tar.gz", ".tar.xz", ".tar.bz2", ".tar.zst", ".gpg"] as const;

/** A byte range request as the property tests generate it. */
export type RangeSpec =
  | { kind: "span"; first: number; last: number }
  | { kind: "from"; first: number }
  | { kind: "suffix"; length: number }
  | { kind: "multi"; spans: [number, number][] };

/** What a ranged GET must answer for an object of `size` bytes (RFC 9110, one range or none). */
export type RangeExpectation = { status: 200 } | { status: 206; start: number; end: number } | { status: 416 };

export class ContractModel {
  readonly systems = new Map<string, ModelSystem>();
  /** Every id any system was ever given (removed ones included): later requests for them must 404. */
  readonly everMinted: string[] = [];

  constructor(
    readonly limits: ModelLimits,
    /** The model's clock (ms); the ledger's must show the same. */
    public now = Date.now(),
  ) {}

  addSystem(key: string, org: string, secret: string): ModelSystem {
    const system: ModelSystem = { key, org, suspended: false, secrets: [secret], backups: [], recoverable: [] };
    this.systems.set(key, system);
    return system;
  }

  /** The secret a request of this kind carries; a stale one only exists after a rotation. */
  secretFor(system: ModelSystem, kind: CredentialKind): string {
    return kind === "stale" && system.secrets.length > 1 ? system.secrets[system.secrets.length - 2] : system.secrets[system.secrets.length - 1];
  }

  /** True when a request with this secret authenticates: the current secret of an active system. */
  authenticates(system: ModelSystem, secret: string): boolean {
    return !system.suspended && secret === system.secrets[system.secrets.length - 1];
  }

  /** The backups a list must return, newest first; null when the request must get 401. */
  list(system: ModelSystem, secret: string): ModelBackup[] | null {
    return this.authenticates(system, secret) ? [...system.backups] : null;
  }

  /**
   * What an upload of `size` bytes with digest `sha256` named `rawFilename` must answer. The
   * quota is reserved before the body is read, so a retry too needs room for its size.
   */
  expectUpload(system: ModelSystem, secret: string, size: number, sha256: string, rawFilename: string | null): UploadExpectation {
    if (!this.authenticates(system, secret)) return { status: 401, reason: "credentials" };
    if (size === 0) return { status: 400, reason: "empty body" };
    if (size > this.limits.maxUploadSize) return { status: 413, reason: "upload size" };
    if (size > this.limits.maxSizePerSystem) return { status: 413, reason: "per-system size" };
    if (this.limits.maxSizePerOrg > 0 && this.orgUsage(system.org) + size > this.limits.maxSizePerOrg) return { status: 413, reason: "org quota" };
    const newest = system.backups[0];
    if (newest && newest.size === size && newest.sha256 === sha256) return { status: 200, backup: newest };
    const filename = sanitisedFilename(rawFilename);
    return { status: 201, extension: extensionOf(filename), filename: filename ?? /^backup-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/ };
  }

  /**
   * Records a stored backup at the model's clock (later than every backup the system holds) and
   * applies retention; returns the ids retention removed.
   */
  commitUpload(system: ModelSystem, backup: Omit<ModelBackup, "committedAt">): string[] {
    const committedAt = Math.max(this.now, ...system.backups.map((b) => b.committedAt + 1));
    system.backups.unshift({ ...backup, committedAt });
    this.everMinted.push(backup.id);
    const protectedIds = protectedTier(system.backups, this.limits, this.now);
    const rotating = system.backups.filter((b) => !protectedIds.has(b.id));
    const kept = rotating.slice(0, this.limits.maxPerSystem);
    const pruned = rotating.slice(this.limits.maxPerSystem);
    let total = kept.reduce((sum, b) => sum + b.size, 0);
    while (total > this.limits.maxSizePerSystem && kept.length > 1) {
      const oldest = kept.pop()!;
      pruned.push(oldest);
      total -= oldest.size;
    }
    const gone = new Set(pruned.map((b) => b.id));
    system.backups = system.backups.filter((b) => !gone.has(b.id));
    this.enterWindow(system, pruned, "pruned");
    return pruned.map((b) => b.id);
  }

  /** A download or HEAD: 401, 404, or the backup. */
  fetch(system: ModelSystem, secret: string, id: string): 401 | 404 | ModelBackup {
    if (!this.authenticates(system, secret)) return 401;
    return system.backups.find((b) => b.id === id) ?? 404;
  }

  /** A delete: 401, 404, or 200 (and the backup is gone from the model). */
  remove(system: ModelSystem, secret: string, id: string): 401 | 404 | 200 {
    if (!this.authenticates(system, secret)) return 401;
    const index = system.backups.findIndex((b) => b.id === id);
    if (index < 0) return 404;
    const [removed] = system.backups.splice(index, 1);
    this.enterWindow(system, [removed], "deleted");
    return 200;
  }

  /**
   * Removed backups enter the recovery window; past the organisation's bound (its quota), the
   * oldest that left by a prune (then by id) are erased until the bytes fit again.
   */
  private enterWindow(system: ModelSystem, backups: ModelBackup[], reason: ModelRecoverable["reason"]): void {
    const eraseAfter = this.now + RECOVERY_DAYS * 86_400_000;
    system.recoverable.push(...backups.map((backup) => ({ backup, reason, removedAt: this.now, eraseAfter })));
    const bound = this.limits.maxSizePerOrg;
    const excess = this.recoverableBytes(system.org) - bound;
    if (bound <= 0 || excess <= 0) return;
    const pruned = [...this.systems.values()]
      .filter((s) => s.org === system.org)
      .flatMap((s) => s.recoverable.filter((r) => r.reason === "pruned").map((r) => ({ s, r })))
      .sort((a, b) => a.r.removedAt - b.r.removedAt || (a.r.backup.id < b.r.backup.id ? -1 : 1));
    let freed = 0;
    for (const { s, r } of pruned) {
      if (freed >= excess) break;
      s.recoverable = s.recoverable.filter((x) => x !== r);
      freed += r.backup.size;
    }
  }

  /** Bytes an organisation holds in the recovery window. */
  recoverableBytes(org: string): number {
    return [...this.systems.values()].filter((s) => s.org === org).reduce((sum, s) => sum + s.recoverable.reduce((n, r) => n + r.backup.size, 0), 0);
  }

  /** The hourly cron at the model's clock: every window that has ended is erased. */
  eraseEnded(): void {
    for (const system of this.systems.values()) system.recoverable = system.recoverable.filter((r) => r.eraseAfter > this.now);
  }

  suspend(system: ModelSystem): void {
    system.suspended = true;
  }

  resume(system: ModelSystem): void {
    system.suspended = false;
  }

  rotate(system: ModelSystem, newSecret: string): void {
    system.secrets.push(newSecret);
  }

  /** Bytes an organisation holds (what its quota counts once nothing is in flight). */
  orgUsage(org: string): number {
    let total = 0;
    for (const s of this.systems.values()) if (s.org === org) total += s.backups.reduce((sum, b) => sum + b.size, 0);
    return total;
  }

  /** The system owning an id, if any. */
  ownerOf(id: string): ModelSystem | undefined {
    for (const s of this.systems.values()) if (s.backups.some((b) => b.id === id)) return s;
    return undefined;
  }
}

const DAY_MS = 86_400_000;

/** Anything with a commit time and an id. */
export interface Committed {
  id: string;
  committedAt: number;
}

/**
 * The protected tier as the contract words it: among backups committed at least 24 h before
 * `now`, for each rule, group by bucket (UTC day, ISO week, UTC month), order the buckets by
 * their newest backup, and keep the newest backup of the first N buckets.
 */
export function protectedTier(backups: Committed[], limits: Pick<ModelLimits, "protectDaily" | "protectWeekly" | "protectMonthly">, now: number): Set<string> {
  const qualifying = backups.filter((b) => now - b.committedAt >= DAY_MS);
  const keep = new Set<string>();
  for (const [count, bucketOf] of [
    [limits.protectDaily, calendarDay],
    [limits.protectWeekly, isoWeekOf],
    [limits.protectMonthly, calendarMonth],
  ] as const) {
    const newestOfBucket = new Map<string, Committed>();
    for (const b of qualifying) {
      const current = newestOfBucket.get(bucketOf(b.committedAt));
      if (!current || b.committedAt > current.committedAt || (b.committedAt === current.committedAt && b.id > current.id))
        newestOfBucket.set(bucketOf(b.committedAt), b);
    }
    const newestFirst = [...newestOfBucket.values()].sort((a, b) => b.committedAt - a.committedAt);
    for (const b of newestFirst.slice(0, count)) keep.add(b.id);
  }
  return keep;
}

/** `YYYY-MM-DD` (UTC). */
export function calendarDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${d.getUTCMonth() + 1}-${d.getUTCDate()}`;
}

/** `YYYY-MM` (UTC). */
export function calendarMonth(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${d.getUTCMonth() + 1}`;
}

/** The ISO week: the Monday that starts the week of `ms` names it (a different route from src/backups/retention.ts). */
export function isoWeekOf(ms: number): string {
  const d = new Date(ms);
  const monday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return `week of ${calendarDay(monday)}`;
}

/**
 * The contract's sanitisation of `X-Filename` as the worker receives it (HTTP drops leading and
 * trailing whitespace from a field value); null when no name is left (the worker invents one).
 */
export function sanitisedFilename(raw: string | null): string | null {
  if (raw === null) return null;
  const base = raw.replace(/^[ \t]+|[ \t]+$/g, "").split(/[/\\]/).pop() ?? "";
  const clean = base.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 255);
  return clean === "" || /^\.+$/.test(clean) ? null : clean;
}

/** The id extension a sanitised name gives (compared case-insensitively), `.bin` when none matches. */
export function extensionOf(filename: string | null): string {
  const lower = (filename ?? "").toLowerCase();
  return EXTENSIONS.find((ext) => lower.endsWith(ext)) ?? ".bin";
}

/** The `Range` header text for a spec. */
export function rangeHeader(spec: RangeSpec): string {
  switch (spec.kind) {
    case "span":
      return `bytes=${spec.first}-${spec.last}`;
    case "from":
      return `bytes=${spec.first}-`;
    case "suffix":
      return `bytes=-${spec.length}`;
    case "multi":
      return "bytes=" + spec.spans.map(([a, b]) => `${a}-${b}`).join(", ");
  }
}

/** RFC 9110 for one object: several ranges or a reversed one are ignored (200), a start past the end is 416. */
export function expectRange(spec: RangeSpec, size: number): RangeExpectation {
  switch (spec.kind) {
    case "span":
      if (spec.last < spec.first) return { status: 200 };
      if (spec.first >= size) return { status: 416 };
      return { status: 206, start: spec.first, end: Math.min(spec.last, size - 1) };
    case "from":
      return spec.first >= size ? { status: 416 } : { status: 206, start: spec.first, end: size - 1 };
    case "suffix":
      if (spec.length === 0) return { status: 416 };
      return { status: 206, start: Math.max(0, size - spec.length), end: size - 1 };
    case "multi":
      return { status: 200 };
  }
}

/** A UUIDv7 for a given time, for backups seeded as if uploaded then. */
export function uuidv7At(ms: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  for (let i = 0; i < 6; i++) bytes[i] = Math.floor(ms / 2 ** (8 * (5 - i))) & 0xff;
  bytes[6] = 0x70 | (bytes[6] & 0x0f);
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
