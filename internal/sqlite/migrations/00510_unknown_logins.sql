-- Failure counters for user IDs that name no account, so that guessing at
-- an unknown user ID locks exactly like guessing at a real one (five wrong
-- passwords answer "locked" either way). The user ID is kept only as a
-- SHA-256 of its normalized form: what people type there is sometimes a
-- password. Rows go once untouched and unlocked for two hours.

-- +goose Up
CREATE TABLE unknown_logins (
	portal          TEXT NOT NULL,
	id_hash         TEXT NOT NULL,
	failed_logins   INTEGER NOT NULL DEFAULT 0,
	locked_until    INTEGER NOT NULL DEFAULT 0,
	failure_window  INTEGER NOT NULL DEFAULT 0,
	window_failures INTEGER NOT NULL DEFAULT 0,
	updated_at      INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (portal, id_hash)
) STRICT;
CREATE INDEX unknown_logins_updated_at_idx ON unknown_logins (updated_at);

-- +goose Down
DROP TABLE unknown_logins;
