-- Indexes for the operator plane's filtered lists (docs/api/operator.md, "Audit trail" and
-- "Operator tokens over HTTP"). Each list query names its index (INDEXED BY), so a page reads
-- only the rows it returns (plus, with two audit filters, the rows of the first that fail the second).

-- The audit trail, newest first, is ordered by (at, seq): every index below ends in those two
-- columns, so that a `since`/`until` window and the cursor are one range of the index.
CREATE INDEX audit_events_by_organization_time ON audit_events (organization_id, at, seq);
-- `?action=system.move` (exact).
CREATE INDEX audit_events_by_action ON audit_events (organization_id, action, at, seq);
-- `?action=system.` (every verb of one object): the action up to and including its dot.
CREATE INDEX audit_events_by_object ON audit_events (organization_id, substr(action, 1, instr(action, '.')), at, seq);
-- `?target=KEY` (the system and its backups `KEY/…`) and `?target=KEY/ID`: the target up to its first slash.
CREATE INDEX audit_events_by_system ON audit_events (organization_id, substr(target, 1, instr(target || '/', '/') - 1), at, seq);
-- Replaced by audit_events_by_organization_time (the list no longer orders by seq alone).
DROP INDEX IF EXISTS audit_events_by_organization;

-- GET /api/admin/tokens pages by (name, public_id); the live-name index is partial and cannot serve it.
CREATE INDEX operator_tokens_by_name ON operator_tokens (name, public_id);
