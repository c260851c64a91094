-- The operator plane's D1 database (binding OPERATOR_DB). Storage schema: docs/storage.md.

-- Operator tokens `op_<public>.<secret>`: only a salted SHA-256 of the secret part is kept.
CREATE TABLE operator_tokens (
  public_id     TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('reader', 'manager', 'admin')),
  organizations TEXT NOT NULL,            -- '*' or a JSON array of organisation ids
  secret_sha256 TEXT NOT NULL,            -- '<hex salt>:<hex SHA-256 of (salt ‖ secret part)>'
  created_at    TEXT NOT NULL,
  expires_at    TEXT,
  revoked_at    TEXT
);
-- A name names one live token; a revoked token's name may be given again.
CREATE UNIQUE INDEX operator_tokens_live_name ON operator_tokens (name) WHERE revoked_at IS NULL;

-- The operator index of systems: the public fields of the KV credential records (never the hash).
-- KV stays the truth; this is written through on every change and repaired on every read of a system.
CREATE TABLE systems (
  system_key      TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL,
  system_id       TEXT NOT NULL,
  registered_at   TEXT,
  suspended_at    TEXT,
  deleted_at      TEXT,
  append_only     INTEGER NOT NULL DEFAULT 0,
  indexed_at      TEXT NOT NULL
);
CREATE INDEX systems_by_organization ON systems (organization_id, system_key);

-- Where the hourly sweep of KV into the index stands: the KV list cursor of its next page.
CREATE TABLE index_sweep (
  id     INTEGER PRIMARY KEY CHECK (id = 1),
  cursor TEXT,
  after  TEXT NOT NULL DEFAULT ''       -- the last system key of the page before
);

-- A move in progress: present from its first step until its last, so that a retry resumes it.
CREATE TABLE moves (
  system_key TEXT PRIMARY KEY,
  from_org   TEXT NOT NULL,
  to_org     TEXT NOT NULL,
  started_at TEXT NOT NULL
);

-- The audit trail: append-only (no UPDATE; rows leave only by age, AUDIT_RETENTION_DAYS).
CREATE TABLE audit_events (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  organization_id TEXT NOT NULL,          -- '*' for events about all-organisation tokens
  at              TEXT NOT NULL,          -- RFC 3339 UTC
  actor           TEXT NOT NULL,          -- token name, system key, 'retention' or 'cli'
  action          TEXT NOT NULL,          -- '<object>.<verb>'
  target          TEXT NOT NULL,
  outcome         TEXT NOT NULL,
  client_ip       TEXT
);
CREATE INDEX audit_events_by_organization ON audit_events (organization_id, seq);
CREATE INDEX audit_events_by_time ON audit_events (at);
CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit events are append-only');
END;
