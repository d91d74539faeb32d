-- Self-service: flows that span several pages (sign-up, forgot password, a
-- profile change waiting for its PIN) and the answers to security questions.
-- Same tables as SQLite's 00100_selfservice.sql.

-- +goose Up
-- A flow's ID is the SHA-256 of the token in the browser's cookie. state is
-- the kind's JSON document; it never holds a plaintext password, PIN or
-- answer. subject (an account ID, or '' for a sign-up) has no foreign key:
-- a flow for an unknown user ID has none.
CREATE TABLE flows (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	portal     TEXT NOT NULL,
	subject    TEXT NOT NULL DEFAULT '',
	state      BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL DEFAULT 0,
	expires_at BIGINT NOT NULL
);
CREATE INDEX flows_expires_at_idx ON flows (expires_at);

-- Four rows per account that chose Security Questions: the question and the
-- argon2id hash (PHC string) of the normalized answer.
CREATE TABLE security_answers (
	account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	position    INTEGER NOT NULL,
	question_id TEXT NOT NULL,
	answer_hash TEXT NOT NULL,
	PRIMARY KEY (account_id, position)
);

-- +goose Down
DROP TABLE security_answers;
DROP TABLE flows;
