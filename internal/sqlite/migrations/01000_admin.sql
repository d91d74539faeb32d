-- The administration console (internal/admin) and the visible audit trail.
--
-- Staff are accounts in the portal "staff"; staff_roles says what each may
-- do in the console (an application administrator once per application).
--
-- Help-desk search: prefix searches by user ID, email, name (last name then
-- first name) and mobile run as range scans (col >= prefix AND col < prefix
-- + U+10FFFF) on (portal, column) indexes. name_norm is a generated column
-- so every writer of accounts keeps it right without knowing of it.
--
-- Audit: each event keeps a snapshot of who acted and whom it concerned
-- (kind, name, user ID) and the reason given, taken when it is written, so
-- the trail still reads the same after a name changes. Retention: the
-- append-only triggers allow deleting a row only when an append-only
-- audit_purges row with a later cutoff exists, and refuse a cutoff younger
-- than one year by the database's own clock: a purge always leaves a trace
-- and can never reach recent events, whatever the caller asks.

-- +goose Up
CREATE TABLE staff_roles (
	account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	role       TEXT NOT NULL,
	app_id     TEXT NOT NULL DEFAULT '', -- the application of an appadmin role
	created_at INTEGER NOT NULL,
	PRIMARY KEY (account_id, role, app_id)
) STRICT;

ALTER TABLE accounts ADD COLUMN name_norm TEXT GENERATED ALWAYS AS (lower(last_name || ' ' || first_name)) VIRTUAL;
CREATE INDEX accounts_portal_name_norm_idx ON accounts (portal, name_norm, id);
CREATE INDEX accounts_portal_email_search_idx ON accounts (portal, email_norm, id);
CREATE INDEX accounts_portal_mobile_search_idx ON accounts (portal, mobile_digits, id);

ALTER TABLE audit_events ADD COLUMN actor_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN actor_name TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN subject_user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN reason TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, occurred_at, id);
CREATE INDEX audit_events_portal_idx ON audit_events (portal, occurred_at, id);

CREATE TABLE audit_purges (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	cutoff     INTEGER NOT NULL, -- events before this instant may be deleted
	created_at INTEGER NOT NULL
) STRICT;
-- +goose StatementBegin
CREATE TRIGGER audit_purges_floor BEFORE INSERT ON audit_purges
WHEN NEW.cutoff > (unixepoch('now') - 365 * 86400) * 1000000
BEGIN SELECT RAISE(ABORT, 'audit_purges: cutoff less than one year ago'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_purges_no_update BEFORE UPDATE ON audit_purges
BEGIN SELECT RAISE(ABORT, 'audit_purges is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_purges_no_delete BEFORE DELETE ON audit_purges
BEGIN SELECT RAISE(ABORT, 'audit_purges is append-only'); END;
-- +goose StatementEnd
DROP TRIGGER audit_events_no_delete;
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN OLD.occurred_at >= (SELECT coalesce(max(cutoff), 0) FROM audit_purges)
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_events_no_delete;
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
-- +goose StatementEnd
DROP TABLE audit_purges;
DROP INDEX audit_events_portal_idx;
DROP INDEX audit_events_actor_idx;
ALTER TABLE audit_events DROP COLUMN reason;
ALTER TABLE audit_events DROP COLUMN subject_user_id;
ALTER TABLE audit_events DROP COLUMN actor_name;
ALTER TABLE audit_events DROP COLUMN actor_kind;
DROP INDEX accounts_portal_mobile_search_idx;
DROP INDEX accounts_portal_email_search_idx;
DROP INDEX accounts_portal_name_norm_idx;
ALTER TABLE accounts DROP COLUMN name_norm;
DROP TABLE staff_roles;
