-- Why a session ended (signed in elsewhere, password changed), kept by the
-- hash of its token for as long as the session could have lived, so that a
-- browser still holding the token is told why it was signed out. No account
-- reference: the row says nothing about who it was.

-- +goose Up
CREATE TABLE session_ends (
	id         TEXT PRIMARY KEY, -- hex SHA-256 of the ended session's token
	reason     TEXT NOT NULL,
	ended_at   BIGINT NOT NULL,
	keep_until BIGINT NOT NULL
);
CREATE INDEX session_ends_keep_until_idx ON session_ends (keep_until);

-- +goose Down
DROP TABLE session_ends;
