-- What each system's appliance last did, as the operator views and fleet health read it:
-- its last authenticated call (kept to the hour) and the last upload the vault refused.
-- A table of its own, not columns of `systems`: the index sweep rewrites `systems` from KV,
-- and activity is not in KV.
CREATE TABLE system_activity (
  system_key          TEXT PRIMARY KEY,
  organization_id     TEXT NOT NULL,
  last_seen_at        TEXT,                 -- RFC 3339 UTC, truncated to the hour
  last_refused_at     TEXT,                 -- RFC 3339 UTC
  last_refused_reason TEXT                  -- e.g. 'quota', 'size', 'rate', 'suspended'
);
CREATE INDEX system_activity_by_organization ON system_activity (organization_id, system_key);
