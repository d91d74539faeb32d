-- The schema of milogin.Store on SQLite. Times are unix microseconds (UTC),
-- 0 for "never"; booleans are 0/1. STRICT makes SQLite reject a value of the
-- wrong type instead of storing it silently. Index names match the PostgreSQL
-- schema: sqlstore recognizes which unique key was violated by the column
-- names user_id_norm and email_norm in SQLite's error text.

-- +goose Up
CREATE TABLE accounts (
	id                  TEXT PRIMARY KEY,
	portal              TEXT NOT NULL,
	user_id             TEXT NOT NULL,
	user_id_norm        TEXT NOT NULL,
	first_name          TEXT NOT NULL DEFAULT '',
	middle_initial      TEXT NOT NULL DEFAULT '',
	last_name           TEXT NOT NULL DEFAULT '',
	suffix              TEXT NOT NULL DEFAULT '',
	email               TEXT NOT NULL DEFAULT '',
	email_norm          TEXT NOT NULL DEFAULT '',
	email_verified      INTEGER NOT NULL DEFAULT 0,
	work_phone          TEXT NOT NULL DEFAULT '',
	mobile              TEXT NOT NULL DEFAULT '',
	mobile_digits       TEXT NOT NULL DEFAULT '',
	recover_by_email    INTEGER NOT NULL DEFAULT 0,
	recover_by_mobile   INTEGER NOT NULL DEFAULT 0,
	password_hash       TEXT NOT NULL DEFAULT '',
	password_changed_at INTEGER NOT NULL DEFAULT 0,
	password_history    TEXT NOT NULL DEFAULT '[]', -- JSON array, newest first
	status              TEXT NOT NULL,
	failed_logins       INTEGER NOT NULL DEFAULT 0,
	locked_until        INTEGER NOT NULL DEFAULT 0,
	failure_window      INTEGER NOT NULL DEFAULT 0,
	window_failures     INTEGER NOT NULL DEFAULT 0,
	last_login_at       INTEGER NOT NULL DEFAULT 0,
	created_at          INTEGER NOT NULL DEFAULT 0,
	updated_at          INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE UNIQUE INDEX accounts_portal_user_id_norm_key ON accounts (portal, user_id_norm);
-- Accounts without an email do not collide with each other.
CREATE UNIQUE INDEX accounts_portal_email_norm_key ON accounts (portal, email_norm) WHERE email_norm <> '';
CREATE INDEX accounts_portal_mobile_digits_idx ON accounts (portal, mobile_digits);
CREATE INDEX accounts_portal_created_at_idx ON accounts (portal, created_at);

CREATE TABLE sessions (
	id           TEXT PRIMARY KEY, -- hex SHA-256 of the token
	account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	portal       TEXT NOT NULL,
	stage        TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	ip           TEXT NOT NULL DEFAULT '',
	user_agent   TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX sessions_account_id_idx ON sessions (account_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE codes (
	id           TEXT PRIMARY KEY,
	purpose      TEXT NOT NULL,
	subject      TEXT NOT NULL, -- an account ID or a pending sign-up ID: no foreign key
	hash         BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	max_attempts INTEGER NOT NULL DEFAULT 0,
	sends        INTEGER NOT NULL DEFAULT 0,
	used_at      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX codes_expires_at_idx ON codes (expires_at);

-- Append-only. AUTOINCREMENT: an ID is never reused, even after the newest
-- row is gone (a restored backup, say).
CREATE TABLE audit_events (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	occurred_at INTEGER NOT NULL,
	event_type  TEXT NOT NULL,
	portal      TEXT NOT NULL DEFAULT '',
	actor_id    TEXT NOT NULL DEFAULT '',
	subject_id  TEXT NOT NULL DEFAULT '',
	ip          TEXT NOT NULL DEFAULT '',
	user_agent  TEXT NOT NULL DEFAULT '',
	detail      TEXT NOT NULL DEFAULT '{}' -- JSON object of strings
) STRICT;
CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at, id);
CREATE INDEX audit_events_subject_idx ON audit_events (subject_id, occurred_at, id);
CREATE INDEX audit_events_type_idx ON audit_events (event_type, occurred_at, id);
-- The audit trail is append-only in the database too, not only in the Go API.
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
-- +goose StatementEnd

CREATE TABLE outbox (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	channel         TEXT NOT NULL,
	to_addr         TEXT NOT NULL,
	subject         TEXT NOT NULL DEFAULT '',
	body_text       BLOB NOT NULL, -- sealed when sealed = 1 (they carry PINs)
	body_html       BLOB NOT NULL,
	sealed          INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL DEFAULT 0,
	sent_at         INTEGER NOT NULL DEFAULT 0,
	failed_at       INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT ''
) STRICT;
-- Only pending messages are indexed for Claim.
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, id) WHERE sent_at = 0 AND failed_at = 0;
CREATE INDEX outbox_to_addr_idx ON outbox (to_addr, id);

-- One counter per key, window length and window: a key used with two window
-- lengths counts in each separately.
CREATE TABLE rate_limits (
	limit_key    TEXT NOT NULL,
	window_us    INTEGER NOT NULL, -- window length in microseconds
	window_start INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	hits         INTEGER NOT NULL,
	PRIMARY KEY (limit_key, window_us, window_start)
) STRICT;
CREATE INDEX rate_limits_expires_at_idx ON rate_limits (expires_at);

CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) STRICT;

-- +goose Down
DROP TABLE settings;
DROP TABLE rate_limits;
DROP TABLE outbox;
DROP TABLE audit_events;
DROP TABLE codes;
DROP TABLE sessions;
DROP TABLE accounts;
