-- The schema of milogin.Store on PostgreSQL; the same tables as the SQLite
-- schema, in PostgreSQL's types. Times are unix microseconds (UTC) in BIGINT,
-- 0 for "never". Unique indexes are named after their columns:
-- internal/sqlstore tells which key was violated from the constraint name.
-- Tables are created unqualified, in the first schema of the search_path.

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
	email_verified      BOOLEAN NOT NULL DEFAULT FALSE,
	work_phone          TEXT NOT NULL DEFAULT '',
	mobile              TEXT NOT NULL DEFAULT '',
	mobile_digits       TEXT NOT NULL DEFAULT '',
	recover_by_email    BOOLEAN NOT NULL DEFAULT FALSE,
	recover_by_mobile   BOOLEAN NOT NULL DEFAULT FALSE,
	password_hash       TEXT NOT NULL DEFAULT '',
	password_changed_at BIGINT NOT NULL DEFAULT 0,
	password_history    TEXT NOT NULL DEFAULT '[]', -- JSON array, newest first
	status              TEXT NOT NULL,
	failed_logins       INTEGER NOT NULL DEFAULT 0,
	locked_until        BIGINT NOT NULL DEFAULT 0,
	failure_window      BIGINT NOT NULL DEFAULT 0,
	window_failures     INTEGER NOT NULL DEFAULT 0,
	last_login_at       BIGINT NOT NULL DEFAULT 0,
	created_at          BIGINT NOT NULL DEFAULT 0,
	updated_at          BIGINT NOT NULL DEFAULT 0
);
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
	created_at   BIGINT NOT NULL,
	last_seen_at BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	ip           TEXT NOT NULL DEFAULT '',
	user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_account_id_idx ON sessions (account_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE codes (
	id           TEXT PRIMARY KEY,
	purpose      TEXT NOT NULL,
	subject      TEXT NOT NULL, -- an account ID or a pending sign-up ID: no foreign key
	hash         BYTEA NOT NULL,
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	max_attempts INTEGER NOT NULL DEFAULT 0,
	sends        INTEGER NOT NULL DEFAULT 0,
	used_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX codes_expires_at_idx ON codes (expires_at);

CREATE TABLE audit_events (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	occurred_at BIGINT NOT NULL,
	event_type  TEXT NOT NULL,
	portal      TEXT NOT NULL DEFAULT '',
	actor_id    TEXT NOT NULL DEFAULT '',
	subject_id  TEXT NOT NULL DEFAULT '',
	ip          TEXT NOT NULL DEFAULT '',
	user_agent  TEXT NOT NULL DEFAULT '',
	detail      TEXT NOT NULL DEFAULT '{}' -- JSON object of strings
);
CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at, id);
CREATE INDEX audit_events_subject_idx ON audit_events (subject_id, occurred_at, id);
CREATE INDEX audit_events_type_idx ON audit_events (event_type, occurred_at, id);
-- The audit trail is append-only in the database too, not only in the Go API.
-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
	FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TABLE outbox (
	id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	channel         TEXT NOT NULL,
	to_addr         TEXT NOT NULL,
	subject         TEXT NOT NULL DEFAULT '',
	body_text       BYTEA NOT NULL, -- sealed when sealed (they carry PINs)
	body_html       BYTEA NOT NULL,
	sealed          BOOLEAN NOT NULL DEFAULT FALSE,
	created_at      BIGINT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at BIGINT NOT NULL DEFAULT 0,
	sent_at         BIGINT NOT NULL DEFAULT 0,
	failed_at       BIGINT NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT ''
);
-- Only pending messages are indexed for Claim.
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, id) WHERE sent_at = 0 AND failed_at = 0;
CREATE INDEX outbox_to_addr_idx ON outbox (to_addr, id);

-- One counter per key, window length and window.
CREATE TABLE rate_limits (
	limit_key    TEXT NOT NULL,
	window_us    BIGINT NOT NULL, -- window length in microseconds
	window_start BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	hits         INTEGER NOT NULL,
	PRIMARY KEY (limit_key, window_us, window_start)
);
CREATE INDEX rate_limits_expires_at_idx ON rate_limits (expires_at);

CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value BYTEA NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE rate_limits;
DROP TABLE outbox;
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE codes;
DROP TABLE sessions;
DROP TABLE accounts;
