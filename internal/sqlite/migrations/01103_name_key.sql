-- The help desk's name search key (name_norm) becomes a column MILogin
-- writes (milogin.NameKey) instead of one SQLite generates with lower(),
-- which folds only ASCII letters: "ÉMILE" stayed "Émile" and a search for
-- "émile" missed it. The rows are filled here with lower(), and the Go
-- migration 01104 then refolds the names lower() left unfolded.

-- +goose Up
DROP INDEX accounts_portal_name_norm_idx;
ALTER TABLE accounts DROP COLUMN name_norm;
ALTER TABLE accounts ADD COLUMN name_norm TEXT NOT NULL DEFAULT '';
UPDATE accounts SET name_norm = lower(last_name || ' ' || first_name);
CREATE INDEX accounts_portal_name_norm_idx ON accounts (portal, name_norm, id);

-- +goose Down
DROP INDEX accounts_portal_name_norm_idx;
ALTER TABLE accounts DROP COLUMN name_norm;
ALTER TABLE accounts ADD COLUMN name_norm TEXT GENERATED ALWAYS AS (lower(last_name || ' ' || first_name)) VIRTUAL;
CREATE INDEX accounts_portal_name_norm_idx ON accounts (portal, name_norm, id);
