-- The OpenID Provider's state: signing keys, authorization requests with
-- their codes, issued tokens, and which sessions signed in to which clients
-- (for back-channel logout). Codes and tokens are stored as hex SHA-256 of
-- the values the applications hold; private keys sealed with the KEK.
-- Lists are JSON arrays; times unix microseconds in BIGINT, 0 for "never".
-- Same tables as SQLite's 00200_oidc.sql.

-- +goose Up
CREATE TABLE signing_keys (
	id           TEXT PRIMARY KEY,
	alg          TEXT NOT NULL,
	private_key  BYTEA NOT NULL,
	public_jwk   BYTEA NOT NULL,
	created_at   BIGINT NOT NULL,
	activates_at BIGINT NOT NULL,
	retired_at   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE oauth_requests (
	id                    TEXT PRIMARY KEY,
	portal                TEXT NOT NULL,
	client_id             TEXT NOT NULL,
	redirect_uri          TEXT NOT NULL,
	state                 TEXT NOT NULL DEFAULT '',
	nonce                 TEXT NOT NULL DEFAULT '',
	scopes                TEXT NOT NULL DEFAULT '[]',
	response_mode         TEXT NOT NULL DEFAULT '',
	code_challenge        TEXT NOT NULL DEFAULT '',
	code_challenge_method TEXT NOT NULL DEFAULT '',
	acr_values            TEXT NOT NULL DEFAULT '[]',
	max_age               INTEGER NOT NULL DEFAULT -1,
	created_at            BIGINT NOT NULL,
	expires_at            BIGINT NOT NULL,
	subject               TEXT NOT NULL DEFAULT '',
	session_id            TEXT NOT NULL DEFAULT '',
	auth_time             BIGINT NOT NULL DEFAULT 0,
	amr                   TEXT NOT NULL DEFAULT '[]',
	acr                   TEXT NOT NULL DEFAULT '',
	code_hash             TEXT NOT NULL DEFAULT '',
	code_expires_at       BIGINT NOT NULL DEFAULT 0,
	code_used_at          BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX oauth_requests_code_hash_key ON oauth_requests (code_hash) WHERE code_hash <> '';
CREATE INDEX oauth_requests_expires_at_idx ON oauth_requests (expires_at);

CREATE TABLE oauth_tokens (
	id                TEXT PRIMARY KEY,
	kind              TEXT NOT NULL,
	family_id         TEXT NOT NULL,
	portal            TEXT NOT NULL,
	client_id         TEXT NOT NULL,
	subject           TEXT NOT NULL,
	session_id        TEXT NOT NULL DEFAULT '',
	scopes            TEXT NOT NULL DEFAULT '[]',
	audience          TEXT NOT NULL DEFAULT '[]',
	amr               TEXT NOT NULL DEFAULT '[]',
	acr               TEXT NOT NULL DEFAULT '',
	auth_time         BIGINT NOT NULL DEFAULT 0,
	created_at        BIGINT NOT NULL,
	expires_at        BIGINT NOT NULL,
	family_expires_at BIGINT NOT NULL DEFAULT 0,
	used_at           BIGINT NOT NULL DEFAULT 0,
	revoked_at        BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX oauth_tokens_family_id_idx ON oauth_tokens (family_id);
CREATE INDEX oauth_tokens_subject_idx ON oauth_tokens (subject, client_id);
CREATE INDEX oauth_tokens_expires_at_idx ON oauth_tokens (expires_at);

-- No foreign key to sessions: the links are read by the hook that runs
-- after the sessions were deleted.
CREATE TABLE session_clients (
	session_id TEXT NOT NULL,
	client_id  TEXT NOT NULL,
	account_id TEXT NOT NULL,
	sid        TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (session_id, client_id)
);
CREATE INDEX session_clients_sid_idx ON session_clients (sid);

-- +goose Down
DROP TABLE session_clients;
DROP TABLE oauth_tokens;
DROP TABLE oauth_requests;
DROP TABLE signing_keys;
