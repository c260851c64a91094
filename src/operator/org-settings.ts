// The settings of an organisation (`organization_settings` in D1): how long silence may last
// before a system is stale, its alert targets (each with its own signing secret, never shown
// again after it is created) and its retention overrides. An absent row is the defaults.

import { d1 } from "./d1";
import { DEFAULT_STALE_AFTER_DAYS } from "./health";

/** An alert target as stored (the secret signs the webhook; it is shown once, when created). */
export interface AlertTarget {
  id: string;
  url: string;
  secret: string;
  created_at: string;
}

/** Per-organisation retention: each null uses the deployment's limit; a value is never looser. */
export interface RetentionOverrides {
  keep_last: number | null;
  daily: number | null;
  weekly: number | null;
  monthly: number | null;
}

export interface OrganizationSettings extends RetentionOverrides {
  stale_after_days: number;
  alert_targets: AlertTarget[];
}

export const RETENTION_FIELDS = ["keep_last", "daily", "weekly", "monthly"] as const;

/** The settings of an organisation (the defaults when it has no row). */
export async function readSettings(db: D1Database, organizationId: string): Promise<OrganizationSettings> {
  const row = await d1("settings read", () =>
    db
      .prepare("SELECT stale_after_days, keep_last, daily, weekly, monthly, alert_targets FROM organization_settings WHERE organization_id = ?")
      .bind(organizationId)
      .first<Omit<OrganizationSettings, "alert_targets"> & { alert_targets: string }>(),
  );
  if (!row) return { stale_after_days: DEFAULT_STALE_AFTER_DAYS, keep_last: null, daily: null, weekly: null, monthly: null, alert_targets: [] };
  return { ...row, alert_targets: JSON.parse(row.alert_targets) as AlertTarget[] };
}

/** The whole settings row, as a statement to batch with its audit event. */
export function writeSettingsStatement(db: D1Database, organizationId: string, s: OrganizationSettings): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO organization_settings (organization_id, stale_after_days, keep_last, daily, weekly, monthly, alert_targets) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (organization_id) DO UPDATE SET stale_after_days = excluded.stale_after_days, keep_last = excluded.keep_last, daily = excluded.daily,
         weekly = excluded.weekly, monthly = excluded.monthly, alert_targets = excluded.alert_targets`,
    )
    .bind(organizationId, s.stale_after_days, s.keep_last, s.daily, s.weekly, s.monthly, JSON.stringify(s.alert_targets));
}
