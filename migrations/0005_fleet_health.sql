-- Fleet health (docs/fleet-health.md, docs/api/operator.md "Health of a system").

-- What the operator says about a system and when it last committed a backup. A table of its own,
-- not columns of `systems`: the index sweep rewrites `systems` from KV, and none of this is in KV.
CREATE TABLE system_profile (
  system_key     TEXT PRIMARY KEY,
  name           TEXT,                    -- operator-set, <= 100 characters
  notes          TEXT,                    -- operator-set, <= 1,000 characters
  last_backup_at TEXT                     -- RFC 3339 UTC: the newest commit (written after each commit)
);

-- Settings per organisation (absent row: the defaults).
CREATE TABLE organization_settings (
  organization_id  TEXT PRIMARY KEY,
  stale_after_days INTEGER NOT NULL DEFAULT 7,
  keep_last        INTEGER,               -- retention overrides, never looser than the deployment's
  daily            INTEGER,
  weekly           INTEGER,
  monthly          INTEGER,
  alert_targets    TEXT NOT NULL DEFAULT '[]'   -- JSON [{id, url, secret, created_at}]
);

-- The health each system had at its last evaluation by the cron, and since when: what an alert fires on.
CREATE TABLE system_health (
  system_key      TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL,
  health          TEXT NOT NULL,
  since           TEXT NOT NULL,          -- RFC 3339 UTC: when the cron first saw this health
  evaluated_at    TEXT NOT NULL
);

-- One row per organisation from the cron's last evaluation: what GET /api/admin/health pages through.
CREATE TABLE organization_health (
  organization_id TEXT PRIMARY KEY,
  ok INTEGER NOT NULL, stale INTEGER NOT NULL, never INTEGER NOT NULL, refused INTEGER NOT NULL,
  suspended INTEGER NOT NULL, retired INTEGER NOT NULL,
  bad             INTEGER NOT NULL,       -- refused + never + stale
  silent_since    INTEGER,                -- epoch seconds of the most silent unhealthy system's last sign
  most_silent_key TEXT,
  evaluated_at    TEXT NOT NULL
);
-- Worst first: the most systems in trouble, then the longest silence.
CREATE INDEX organization_health_worst ON organization_health (bad DESC, COALESCE(silent_since, 9007199254740991), organization_id);

-- Where the health sweep stands: the (organization, system) of the last evaluated row, and the
-- counts of the organisation it is in the middle of.
CREATE TABLE health_sweep (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  after_org    TEXT NOT NULL DEFAULT '',
  after_key    TEXT NOT NULL DEFAULT '',
  partial      TEXT,                     -- JSON tally of after_org so far
  pass_started_at TEXT                   -- when the current pass began (summaries older than it are of emptied organisations)
);

-- Uploads per organisation and result (`stored`, or the refusal: `size`, `quota`, `rate`), counted
-- in the background beside last_backup_at and the refusal: vault_uploads_total in the metrics.
CREATE TABLE upload_counts (
  organization_id TEXT NOT NULL,
  result          TEXT NOT NULL,
  count           INTEGER NOT NULL,
  PRIMARY KEY (organization_id, result)
);
