-- Portal policies set by a security administrator in the console; each
-- replaces the portal's default policy when a node starts. policy is the
-- JSON of milogin.Policy.

-- +goose Up
CREATE TABLE portal_policies (
	portal     TEXT PRIMARY KEY,
	policy     TEXT NOT NULL,
	updated_at BIGINT NOT NULL,
	updated_by TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE portal_policies;
