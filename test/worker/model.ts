// A small in-memory model of the appliance API contract (docs/api/appliance.md), the
// oracle of the property tests: what each request must answer, given what happened before.
// It knows nothing of R2, KV or the ledger; it takes the ids the worker mints from its 201s.
//
// Retention: the rotating tier only. Every backup in a test run is minutes old at most, and the
// protected tier (daily / weekly) only ever holds backups older than 24 h, so it stays empty.

/** The limits the model enforces (the same values are passed to the worker as overrides). */
export interface ModelLimits {
  maxUploadSize: number;
  maxPerSystem: number;
  maxSizePerSystem: number;
  /** 0 disables. */
  maxSizePerOrg: number;
}

export interface ModelBackup {
  id: string;
  filename: string;
  size: number;
  sha256: string;
  mimetype: string;
  uploaded_at: string;
  bytes: Uint8Array;
}

export interface ModelSystem {
  key: string;
  org: string;
  suspended: boolean;
  /** Every secret the system ever had; the last is the current one. */
  secrets: string[];
  /** Newest first (by id, which is a UUIDv7 and so by creation time). */
  backups: ModelBackup[];
}

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

  constructor(readonly limits: ModelLimits) {}

  addSystem(key: string, org: string, secret: string): ModelSystem {
    const system: ModelSystem = { key, org, suspended: false, secrets: [secret], backups: [] };
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

  /** Records a stored backup and applies retention; returns the ids retention removed. */
  commitUpload(system: ModelSystem, backup: ModelBackup): string[] {
    system.backups.unshift(backup);
    this.everMinted.push(backup.id);
    const kept = system.backups.slice(0, this.limits.maxPerSystem);
    const pruned = system.backups.slice(this.limits.maxPerSystem);
    let total = kept.reduce((sum, b) => sum + b.size, 0);
    while (total > this.limits.maxSizePerSystem && kept.length > 1) {
      const oldest = kept.pop()!;
      pruned.push(oldest);
      total -= oldest.size;
    }
    system.backups = kept;
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
    system.backups.splice(index, 1);
    return 200;
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
