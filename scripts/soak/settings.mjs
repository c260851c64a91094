// What a soak runs: its settings from the environment, and the mix of operations.

/**
 * SOAK_SECONDS (180), SOAK_SYSTEMS (24), SOAK_ORGS (3), SOAK_CONCURRENCY (16),
 * SOAK_MAX_REQUESTS (2 000 000, a safety bound); SOAK_MIX (see mixFrom).
 */
export function soakSettings(env = process.env) {
  return {
    seconds: positiveInt(env, "SOAK_SECONDS", 180),
    systems: positiveInt(env, "SOAK_SYSTEMS", 24),
    orgs: positiveInt(env, "SOAK_ORGS", 3),
    concurrency: positiveInt(env, "SOAK_CONCURRENCY", 16),
    maxRequests: positiveInt(env, "SOAK_MAX_REQUESTS", 2_000_000),
    mix: mixFrom(env.SOAK_MIX, DEFAULT_MIX),
  };
}

/** wrangler.toml's BACKUP_MAX_PER_SYSTEM, left as configured. */
export const MAX_PER_SYSTEM = 10;
/** The upload rate limits are off: 16 clients on 24 systems would hit them within seconds. */
export const SOAK_VARS = { BACKUP_RATE_LIMIT_PER_MINUTE: 0, BACKUP_RATE_LIMIT_PER_HOUR: 0 };

const DEFAULT_MIX = [
  ["list", 25],
  ["upload", 25],
  ["download", 22],
  ["download range", 8],
  ["head", 6],
  ["delete", 7],
  ["foreign", 5],
  ["bad auth", 2],
];

function positiveInt(env, name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** SOAK_MIX=upload=1,list=1 weights the operations differently (to find which one a leak follows). */
function mixFrom(text, fallback) {
  if (!text) return fallback;
  const known = new Set(fallback.map(([op]) => op));
  const mix = text.split(",").map((part) => {
    const [op, weight] = part.split("=");
    if (!known.has(op) || !/^\d+$/.test(weight ?? "")) throw new Error(`SOAK_MIX: expected op=weight with op one of ${[...known].join(", ")}, got ${JSON.stringify(part)}`);
    return [op, Number(weight)];
  });
  if (mix.every(([, w]) => w === 0)) throw new Error("SOAK_MIX: all weights are 0");
  return mix;
}
