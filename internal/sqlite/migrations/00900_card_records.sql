-- The Secretary of State's driver's license and state ID card records that
-- citizen sign-up verifies residents against (R-1.9), loaded by
-- `milogin records import`. number is normalised (one upper-case letter and
-- 12 digits); account_id is the citizen account the card verified ('' for
-- none), so a card verifies only one active account.

-- +goose Up
CREATE TABLE card_records (
	number        TEXT PRIMARY KEY,
	first_name    TEXT NOT NULL DEFAULT '',
	middle_name   TEXT NOT NULL DEFAULT '',
	last_name     TEXT NOT NULL DEFAULT '',
	suffix        TEXT NOT NULL DEFAULT '',
	date_of_birth TEXT NOT NULL DEFAULT '',
	status        TEXT NOT NULL,
	account_id    TEXT NOT NULL DEFAULT '',
	imported_at   INTEGER NOT NULL DEFAULT 0,
	updated_at    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX card_records_status ON card_records (status);

-- +goose Down
DROP TABLE card_records;
