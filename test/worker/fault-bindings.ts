// Fault injection for the worker's bindings: wrappers around KV, R2 and the organisation
// ledger (the Durable Object namespace and its stubs) that record every call and make one
// chosen call fail. They are passed to the app through `send(request, overrides)`, and the
// R2 wrapper can also replace the ledger's own `env.BACKUPS` (see `injectIntoLedger`), so a
// prune or a ledger rebuild can fail too.

import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";

/** Which binding a call went to; `LEDGER.BACKUPS` is R2 as the Durable Object reaches it. */
export type BindingName = "SYSTEMS" | "BACKUPS" | "ORG_LEDGER" | "LEDGER.BACKUPS" | "OPERATOR_DB" | "ALERTS";

/**
 * How the chosen call fails:
 * - `throw`: rejects at once; the call never reaches storage.
 * - `lost`: the call reaches storage and completes, then the answer is lost (rejects).
 * - `hang`: never settles, unless the injector has a `stallMs`, in which case it stalls that
 *   long and then rejects with a timeout error (a platform deadline ending a stuck call).
 */
export type FaultMode = "throw" | "lost" | "hang";

/** One call as the wrappers saw it. */
export interface CallRecord {
  binding: BindingName;
  method: string;
  /** Key, prefix or RPC argument summary (never a secret: KV keys are system keys). */
  target: string;
  /** This call's 1-based rank among calls of the same binding and method. */
  nth: number;
  /** The messages of a queue call (ALERTS only: alert deliveries hold no secret). */
  messages?: unknown[];
}

/** Fail the `nth` call of `binding.method` in `mode`. */
export interface FaultPlan {
  binding: BindingName;
  /** The method, or `"*"` for every method of the binding (a binding that cannot be reached). */
  method: string;
  /** The 1-based rank of the call to fail, or `"every"` to fail every matching call. */
  nth: number | "every";
  mode: FaultMode;
  /** The injected error's message, so a test can check the worker never echoes it. */
  message?: string;
}

/** The error an injected fault raises; its message names no internals the worker could echo. */
export class InjectedFault extends Error {
  override name = "InjectedFault";
}

// Methods that are plain accessors, not I/O: never counted, never failed.
const PASSTHROUGH = new Set(["idFromName", "idFromString", "newUniqueId", "jurisdiction", "constructor", "then", "toJSON"]);

/** Records calls to wrapped bindings and injects a fault (one call, or every matching one) as its plan says. */
export class FaultInjector {
  readonly calls: CallRecord[] = [];
  /** The call that was made to fail, once it has been. */
  injected: CallRecord | null = null;
  private readonly counts = new Map<string, number>();

  constructor(
    readonly plan: FaultPlan | null = null,
    /** `afterCall` runs once a call that was not failed has answered, before its caller sees the answer. */
    readonly options: { stallMs?: number; afterCall?: (call: CallRecord) => unknown } = {},
  ) {}

  /** The three worker bindings, wrapped, as `send` overrides. */
  overrides(): { SYSTEMS: KVNamespace; BACKUPS: R2Bucket; ORG_LEDGER: DurableObjectNamespace } {
    return {
      SYSTEMS: this.wrap(env.SYSTEMS, "SYSTEMS"),
      BACKUPS: this.wrap(env.BACKUPS, "BACKUPS"),
      ORG_LEDGER: this.wrapNamespace(env.ORG_LEDGER as unknown as DurableObjectNamespace),
    };
  }

  /** The bindings above plus the operator database (D1), wrapped. */
  operatorOverrides(): { SYSTEMS: KVNamespace; BACKUPS: R2Bucket; ORG_LEDGER: DurableObjectNamespace; OPERATOR_DB: D1Database } {
    return { ...this.overrides(), OPERATOR_DB: this.wrapD1(env.OPERATOR_DB) };
  }

  /**
   * Wraps a D1 database: `prepare` stays synchronous and hands out statements whose `first`,
   * `all` and `run` are recorded (method `first`/`all`/`run`, target the SQL's first words) and
   * may fail; `batch` is recorded as one call.
   */
  wrapD1(db: D1Database): D1Database {
    const wrapStatement = (statement: D1PreparedStatement, sql: string): D1PreparedStatement =>
      new Proxy(statement, {
        get: (obj, prop) => {
          const value = Reflect.get(obj, prop, obj);
          if (prop === "bind") return (...args: unknown[]) => wrapStatement(value.apply(obj, args), sql);
          if (prop === "first" || prop === "all" || prop === "run" || prop === "raw")
            return (...args: unknown[]) => this.invoke("OPERATOR_DB", prop, [sql], () => value.apply(obj, args));
          return typeof value === "function" ? value.bind(obj) : value;
        },
      });
    return new Proxy(db, {
      get: (obj, prop) => {
        const value = Reflect.get(obj, prop, obj);
        if (prop === "prepare") return (sql: string) => wrapStatement(value.call(obj, sql), sql.trim().split(/\s+/).slice(0, 3).join(" "));
        if (prop === "batch")
          return (statements: D1PreparedStatement[]) => this.invoke("OPERATOR_DB", "batch", [`${statements.length} statements`], () => value.call(obj, statements));
        return typeof value === "function" ? value.bind(obj) : value;
      },
    });
  }

  /** Calls made to one binding (optionally one method). */
  callsTo(binding: BindingName, method?: string): CallRecord[] {
    return this.calls.filter((c) => c.binding === binding && (method === undefined || c.method === method));
  }

  /** Wraps any binding object: every method call is recorded and may be the one that fails. */
  wrap<T extends object>(target: T, binding: BindingName): T {
    return new Proxy(target, {
      get: (obj, prop) => {
        const value = Reflect.get(obj, prop, obj);
        if (typeof prop !== "string" || typeof value !== "function" || PASSTHROUGH.has(prop)) {
          return typeof value === "function" ? value.bind(obj) : value;
        }
        return (...args: unknown[]) => this.invoke(binding, prop, args, () => value.apply(obj, args));
      },
    });
  }

  /** Wraps the ledger namespace: `get` hands out stubs whose RPC methods are recorded and may fail. */
  wrapNamespace(ns: DurableObjectNamespace): DurableObjectNamespace {
    return new Proxy(ns, {
      get: (obj, prop) => {
        const value = Reflect.get(obj, prop, obj);
        if (prop === "get") return (...args: unknown[]) => this.wrapStub(value.apply(obj, args));
        return typeof value === "function" ? value.bind(obj) : value;
      },
    });
  }

  private wrapStub(stub: DurableObjectStub): DurableObjectStub {
    return new Proxy(stub, {
      get: (obj, prop) => {
        if (typeof prop !== "string" || PASSTHROUGH.has(prop) || prop === "id" || prop === "name") return Reflect.get(obj, prop);
        return (...args: unknown[]) => this.invoke("ORG_LEDGER", prop, args, () => (obj as any)[prop](...args));
      },
    });
  }

  private async invoke(binding: BindingName, method: string, args: unknown[], call: () => Promise<unknown>): Promise<unknown> {
    const counter = `${binding}.${method}`;
    const nth = (this.counts.get(counter) ?? 0) + 1;
    this.counts.set(counter, nth);
    const record: CallRecord = { binding, method, target: describeTarget(args), nth };
    if (binding === "ALERTS") record.messages = method === "sendBatch" ? (args[0] as { body: unknown }[]).map((m) => m.body) : [args[0]];
    this.calls.push(record);
    const plan = this.plan;
    if (!plan || plan.binding !== binding || (plan.method !== "*" && plan.method !== method) || (plan.nth !== "every" && plan.nth !== nth)) {
      const answer = await call();
      await this.options.afterCall?.(record);
      return answer;
    }
    this.injected = record;
    switch (plan.mode) {
      case "throw":
        throw new InjectedFault(plan.message ?? `injected failure of ${counter}`);
      case "lost":
        await call().catch(() => {});
        throw new InjectedFault(plan.message ?? `answer of ${counter} lost`);
      case "hang":
        return new Promise((_, reject) => {
          if (this.options.stallMs !== undefined) {
            setTimeout(() => reject(new InjectedFault(plan.message ?? `${counter} timed out`)), this.options.stallMs);
          }
        });
    }
  }
}

/**
 * Replaces the ledger's own R2 binding (the one its prunes and rebuilds use) by the injector's
 * wrapper, for the ledger of one organisation. The Durable Object runs in the test's isolate,
 * so its instance can be reached; the replacement lasts as long as that instance.
 */
export async function injectIntoLedger(injector: FaultInjector, organizationId: string): Promise<void> {
  const stub = env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(organizationId));
  await runInDurableObject(stub, (instance) => {
    const holder = instance as unknown as { env: Env };
    // The bare binding (the same bucket), never the previous wrapper: a later injection replaces an earlier one.
    holder.env = { ...holder.env, BACKUPS: injector.wrap(env.BACKUPS, "LEDGER.BACKUPS") };
  });
}

/** A short, secret-free description of a call's first argument. */
function describeTarget(args: unknown[]): string {
  const first = args[0];
  if (typeof first === "string") return first;
  if (Array.isArray(first)) return first.join(",");
  if (first && typeof first === "object") {
    const o = first as Record<string, unknown>;
    if (typeof o.prefix === "string") return `prefix=${o.prefix}`;
    if (typeof o.systemKey === "string") return `system=${o.systemKey}`;
    return "{…}";
  }
  return first === undefined ? "" : String(first);
}

/** Every call a fault-free run makes, as fault plans for each mode (`throw`, `lost`), labelled for the test's name. */
export async function plansFor(run: (injector: FaultInjector) => Promise<unknown>): Promise<(FaultPlan & { label: string })[]> {
  const probe = new FaultInjector();
  await run(probe);
  const modes: FaultMode[] = ["throw", "lost"];
  return probe.calls.flatMap((c) => modes.map((mode) => ({ binding: c.binding, method: c.method, nth: c.nth, mode, label: `${c.binding}.${c.method}#${c.nth} (${c.target}) ${mode}` })));
}
