-- Second factors: authenticator-app keys (one per account, the secret sealed
-- with a key derived from the KEK and bound to the account), passkeys, and
-- passkey ceremonies in progress (kept here, not in a node's memory, so the
-- browser may finish on any node). Times unix microseconds, 0 for "never";
-- booleans 0/1.

-- +goose Up
CREATE TABLE totp_keys (
	account_id   TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	secret       BLOB NOT NULL,
	confirmed    INTEGER NOT NULL DEFAULT 0,
	last_step    INTEGER NOT NULL DEFAULT 0, -- last accepted 30-second step: replays are refused
	created_at   INTEGER NOT NULL DEFAULT 0,
	confirmed_at INTEGER NOT NULL DEFAULT 0,
	updated_at   INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE webauthn_credentials (
	id           BLOB PRIMARY KEY, -- credential ID chosen by the authenticator
	account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	name         TEXT NOT NULL DEFAULT '',
	data         BLOB NOT NULL, -- the library's credential record (JSON): public key, counter, flags
	created_at   INTEGER NOT NULL DEFAULT 0,
	last_used_at INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX webauthn_credentials_account_id_idx ON webauthn_credentials (account_id);

CREATE TABLE webauthn_challenges (
	id         TEXT PRIMARY KEY,
	account_id TEXT NOT NULL,
	session_id TEXT NOT NULL DEFAULT '',
	purpose    TEXT NOT NULL,
	data       BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX webauthn_challenges_expires_at_idx ON webauthn_challenges (expires_at);

-- +goose Down
DROP TABLE webauthn_challenges;
DROP TABLE webauthn_credentials;
DROP TABLE totp_keys;
