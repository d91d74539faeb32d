-- The application catalog, access grants, terms acceptances, MFA events and
-- parked protocol requests. Lists are JSON arrays. Same tables as SQLite's
-- 00002_apps.sql.

-- +goose Up
CREATE TABLE apps (
	id                     TEXT PRIMARY KEY,
	name                   TEXT NOT NULL,
	category               TEXT NOT NULL DEFAULT '',
	portals                TEXT NOT NULL DEFAULT '[]',
	launch_url             TEXT NOT NULL DEFAULT '',
	approval               TEXT NOT NULL DEFAULT '',
	mfa                    TEXT NOT NULL DEFAULT '',
	terms_text             TEXT NOT NULL DEFAULT '',
	terms_version          INTEGER NOT NULL DEFAULT 0,
	contact                TEXT NOT NULL DEFAULT '',
	client_id              TEXT NOT NULL DEFAULT '',
	client_secret_hash     TEXT NOT NULL DEFAULT '',
	client_public          BOOLEAN NOT NULL DEFAULT FALSE,
	redirect_uris          TEXT NOT NULL DEFAULT '[]',
	post_logout_uris       TEXT NOT NULL DEFAULT '[]',
	backchannel_logout_uri TEXT NOT NULL DEFAULT '',
	grant_types            TEXT NOT NULL DEFAULT '[]',
	created_at             BIGINT NOT NULL DEFAULT 0,
	updated_at             BIGINT NOT NULL DEFAULT 0
);
-- Applications without an OpenID Connect client have an empty client_id.
CREATE UNIQUE INDEX apps_client_id_key ON apps (client_id) WHERE client_id <> '';

CREATE TABLE grants (
	app_id       TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
	account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	status       TEXT NOT NULL,
	requested_at BIGINT NOT NULL DEFAULT 0,
	decided_at   BIGINT NOT NULL DEFAULT 0,
	decided_by   TEXT NOT NULL DEFAULT '',
	reason       TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (app_id, account_id)
);
CREATE INDEX grants_account_id_idx ON grants (account_id);

-- One row per accepted version; the highest version counts.
CREATE TABLE terms_acceptances (
	app_id      TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
	account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	version     INTEGER NOT NULL,
	accepted_at BIGINT NOT NULL,
	PRIMARY KEY (app_id, account_id, version)
);

-- app_id has no foreign key: a second factor may be completed for the
-- portal itself rather than for an application.
CREATE TABLE mfa_events (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	app_id      TEXT NOT NULL,
	method      TEXT NOT NULL,
	occurred_at BIGINT NOT NULL
);
CREATE INDEX mfa_events_idx ON mfa_events (account_id, app_id, occurred_at);

CREATE TABLE login_requests (
	id           TEXT PRIMARY KEY,
	protocol     TEXT NOT NULL,
	portal       TEXT NOT NULL,
	app_id       TEXT NOT NULL DEFAULT '',
	callback_url TEXT NOT NULL DEFAULT '',
	force_login  BOOLEAN NOT NULL DEFAULT FALSE,
	force_mfa    BOOLEAN NOT NULL DEFAULT FALSE,
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	account_id   TEXT NOT NULL DEFAULT '',
	session_id   TEXT NOT NULL DEFAULT '',
	auth_time    BIGINT NOT NULL DEFAULT 0,
	amr          TEXT NOT NULL DEFAULT '[]',
	done_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX login_requests_expires_at_idx ON login_requests (expires_at);

-- +goose Down
DROP TABLE login_requests;
DROP TABLE mfa_events;
DROP TABLE terms_acceptances;
DROP TABLE grants;
DROP TABLE apps;
