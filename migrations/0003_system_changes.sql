-- One change at a time per system (docs/consistency.md): a compare-and-set lease that a change
-- (PATCH, suspend, resume, rotate, retire, purge, move) holds for its whole length, the count of
-- changes that ended (download links are signed with it, so any change ends them), and the
-- tombstone that a retire or purge leaves and that no later change lifts.
CREATE TABLE system_changes (
  system_key TEXT PRIMARY KEY,
  holder     TEXT,                          -- the change holding the system (random id), NULL when none
  held_until INTEGER NOT NULL DEFAULT 0,    -- the lease's end, ms since the epoch (a crashed change frees it)
  version    INTEGER NOT NULL DEFAULT 0,    -- changes that ended
  tombstone  TEXT CHECK (tombstone IN ('retired', 'purged'))
);
