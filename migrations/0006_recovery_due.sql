-- The recovery window (docs/recovery.md): when each organisation's earliest recoverable backup
-- or purged system leaves its window, so that the hourly cron asks only the ledgers that have
-- something to erase. Written by the organisation's ledger; a missing row means nothing waits.
CREATE TABLE recovery_due (
  organization_id TEXT PRIMARY KEY,
  due_at          INTEGER NOT NULL      -- epoch milliseconds
);
CREATE INDEX recovery_due_by_time ON recovery_due (due_at);
