// The bench worker's meters: every KV, R2, D1 and Durable Object call the app makes is counted
// (and, for KV, R2 and the ledger, timed), and one call of a request can be held back on purpose
// to learn whether the response waits for it (`probeWaits` in probes.ts).

/** Calls per binding method since the last reset, keyed `kv.get`, `r2.put`, `do.reserve`, `d1.query`, … */
export const calls = new Map<string, number>();
/** Milliseconds spent waiting for each binding method since the last reset (workerd's clock moves on I/O). */
export const waited = new Map<string, number>();

/** An armed probe: the calls of one request in order, and the one whose answer is held until `release`. */
interface Probe {
  hold: number | null;
  log: string[];
  gate: Promise<void>;
  release: () => void;
}
let probe: Probe | null = null;

/** Starts logging calls in order; the `hold`-th (0-based, null: none) settles only after `releaseProbe()`. */
export function armProbe(hold: number | null): void {
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  probe = { hold, log: [], gate, release };
}

/** Lets the held call settle (it ran at once; only its answer waited). */
export function releaseProbe(): void {
  probe?.release();
}

/** Stops the probe; returns the calls it saw, in the order they started. */
export function disarmProbe(): string[] {
  const log = probe?.log ?? [];
  probe?.release();
  probe = null;
  return log;
}

export function count(name: string, n = 1): void {
  calls.set(name, (calls.get(name) ?? 0) + n);
}

/**
 * Counts a call (`n` billed operations), adds the time until it settles to `waited` when `timed`,
 * and, when a probe holds this call, delays its answer (never its effect) until the probe lets go.
 */
function observed<T>(name: string, n: number, call: () => T, timed = true): T {
  count(name, n);
  const started = Date.now();
  let result = call();
  if (probe) {
    const index = probe.log.push(name) - 1;
    if (index === probe.hold) {
      const gate = probe.gate;
      const settled = Promise.resolve(result);
      settled.catch(() => {});
      result = gate.then(() => settled) as T;
    }
  }
  if (timed)
    Promise.resolve(result).then(
      () => waited.set(name, (waited.get(name) ?? 0) + Date.now() - started),
      () => {},
    );
  return result;
}

/** Wraps an object so that calls of the named methods are counted as `<scope>.<method>`. */
function counted<T extends object>(target: T, scope: string, methods: readonly string[], wrapResult?: Record<string, (result: any) => unknown>): T {
  return new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop, t);
      if (typeof value !== "function") return value;
      if (typeof prop !== "string" || !methods.includes(prop)) return value.bind(t);
      return (...args: unknown[]) => {
        // A batch delete removes (and bills) each key: count keys, not calls.
        const result = observed(`${scope}.${prop}`, prop === "delete" && Array.isArray(args[0]) ? args[0].length : 1, () => Reflect.apply(value, t, args));
        const wrap = wrapResult?.[prop];
        return wrap ? Promise.resolve(result).then(wrap) : result;
      };
    },
  });
}

const KV_METHODS = ["get", "getWithMetadata", "put", "list", "delete"] as const;
export const R2_METHODS = ["head", "get", "put", "list", "delete", "createMultipartUpload"] as const;
const MULTIPART_METHODS = ["uploadPart", "complete", "abort"] as const;

function countedBucket(bucket: R2Bucket): R2Bucket {
  return counted(bucket, "r2", R2_METHODS, {
    createMultipartUpload: (upload: R2MultipartUpload) => counted(upload, "r2", MULTIPART_METHODS),
  });
}

/** Every RPC method call on a Durable Object stub is one billed request. */
function countedLedgers(ns: Env["ORG_LEDGER"]): Env["ORG_LEDGER"] {
  return new Proxy(ns, {
    get(t, prop) {
      const value = Reflect.get(t, prop, t);
      if (typeof value !== "function") return value;
      if (prop !== "get") return value.bind(t);
      return (...args: Parameters<typeof ns.get>) => {
        const stub = Reflect.apply(value, t, args) as object;
        return new Proxy(stub, {
          get(s, method) {
            const fn = Reflect.get(s, method, s);
            if (typeof fn !== "function" || typeof method !== "string") return fn;
            // Reflect.apply, not fn.apply: on a stub, `apply` would be an RPC method name.
            return (...a: unknown[]) => observed(`do.${method}`, 1, () => Reflect.apply(fn, s, a));
          },
        });
      };
    },
  });
}

/**
 * D1: every call is one `d1.query`, a batch included (one round trip); `d1.statements` counts the
 * statements run, and the rows they read and wrote are counted as D1 bills them. D1 calls are not timed (most run in the background, where no request waits on them).
 */
function countedDatabase(db: D1Database): D1Database {
  const meter = (meta: D1Meta | undefined) => {
    count("d1.rows_read", meta?.rows_read ?? 0);
    count("d1.rows_written", meta?.rows_written ?? 0);
  };
  const statement = (s: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(s, {
      get(t, prop) {
        const value = Reflect.get(t, prop, t);
        if (prop === "bind") return (...a: unknown[]) => statement(Reflect.apply(value, t, a));
        if (prop === "first") return (...a: unknown[]) => (count("d1.rows_read"), count("d1.statements"), observed("d1.query", 1, () => Reflect.apply(value, t, a), false));
        if (prop === "all" || prop === "run")
          return async (...a: unknown[]) => {
            count("d1.statements");
            const result = (await observed("d1.query", 1, () => Reflect.apply(value, t, a), false)) as D1Result;
            meter(result.meta);
            return result;
          };
        return typeof value === "function" ? value.bind(t) : value;
      },
    });
  return new Proxy(db, {
    get(t, prop) {
      const value = Reflect.get(t, prop, t);
      if (prop === "prepare") return (sql: string) => statement(value.call(t, sql));
      if (prop === "batch")
        return async (statements: D1PreparedStatement[]) => {
          // One call (one round trip) however many statements it carries; the statements are metered apart.
          count("d1.statements", statements.length);
          const results = (await observed("d1.query", 1, () => value.call(t, statements), false)) as D1Result[];
          for (const r of results) meter(r.meta);
          return results;
        };
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
}

const countedEnvs = { worker: new WeakMap<Env, Env>(), ledger: new WeakMap<Env, Env>() };

/** The same env with KV, R2, D1 and the ledger counted; one per env, so config parsing stays cached. */
export function countingEnv(env: Env, ledgerSide = false): Env {
  const cache = ledgerSide ? countedEnvs.ledger : countedEnvs.worker;
  let wrapped = cache.get(env);
  if (!wrapped) {
    wrapped = {
      ...env,
      SYSTEMS: counted(env.SYSTEMS, ledgerSide ? "ledger.kv" : "kv", KV_METHODS),
      BACKUPS: ledgerSide ? counted(env.BACKUPS, "ledger.r2", [...R2_METHODS]) : countedBucket(env.BACKUPS),
      ORG_LEDGER: countedLedgers(env.ORG_LEDGER),
      OPERATOR_DB: countedDatabase(env.OPERATOR_DB),
    };
    cache.set(env, wrapped);
  }
  return wrapped;
}
