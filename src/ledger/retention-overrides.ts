// An organisation's retention overrides (its operator settings), applied by the ledger at every
// commit: each may only tighten the deployment's policy, never loosen it.

import type { RetentionPolicy } from "../backups/retention";
import type { RetentionOverrides } from "../operator/org-settings";

/** The ledger's `meta` name that holds the overrides. */
export const RETENTION_META = "retention-overrides";

/** The deployment's policy with each override applied where it is stricter (smaller). */
export function tightenPolicy(policy: RetentionPolicy, overrides: RetentionOverrides | undefined): RetentionPolicy {
  if (!overrides) return policy;
  const stricter = (limit: number, override: number | null, min: number) => (override === null ? limit : Math.max(min, Math.min(limit, override)));
  return {
    ...policy,
    maxPerSystem: stricter(policy.maxPerSystem, overrides.keep_last, 1),
    protectDaily: stricter(policy.protectDaily, overrides.daily, 0),
    protectWeekly: stricter(policy.protectWeekly, overrides.weekly, 0),
    protectMonthly: stricter(policy.protectMonthly, overrides.monthly, 0),
  };
}
