// Seeds and run counts of the generated suites (property, hostile inputs, faults).
// Fixed by default so CI is deterministic; a long or different run is one variable away:
//   FC_SEED=1234 FC_RUNS=2000 npm test
// vitest.config.ts hands the two variables to the Workers runtime through `provide`.

import { inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    FC_SEED: string;
    FC_RUNS: string;
  }
}

export const DEFAULT_SEED = 42;

/** The seed of every fast-check run: FC_SEED, else 42. */
export function fcSeed(): number {
  const raw = inject("FC_SEED");
  return raw && /^-?\d+$/.test(raw) ? Number(raw) : DEFAULT_SEED;
}

/** The run count: FC_RUNS when set (a long run), else the suite's own bounded default. */
export function fcRuns(defaultRuns: number): number {
  const raw = inject("FC_RUNS");
  return raw && /^\d+$/.test(raw) && Number(raw) > 0 ? Number(raw) : defaultRuns;
}

/** fast-check parameters for one property: fixed seed, bounded runs, no time-based interruption. */
export function fcParameters(defaultRuns: number) {
  return { seed: fcSeed(), numRuns: fcRuns(defaultRuns) } as const;
}

/** A test timeout that grows with the run count, so a long run is not cut short. */
export function fcTimeout(defaultRuns: number, baseMs: number): number {
  return Math.ceil(baseMs * Math.max(1, fcRuns(defaultRuns) / defaultRuns));
}
