-- The help desk's name search key (name_norm) becomes a column MILogin
-- writes (milogin.NameKey) instead of one PostgreSQL generates with
-- lower(), which folds by the database's LC_CTYPE: only ASCII letters under
-- "C", so "ÉMILE" could stay "Émile" and a search for "émile" miss it. The
-- rows are filled here with lower(), and the Go migration 01104 then
-- refolds any name lower() folded differently.

-- +goose Up
ALTER TABLE accounts DROP COLUMN name_norm;
ALTER TABLE accounts ADD COLUMN name_norm TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE accounts SET name_norm = lower(last_name || ' ' || first_name);
CREATE INDEX accounts_portal_name_norm_idx ON accounts (portal, name_norm, id);

-- +goose Down
ALTER TABLE accounts DROP COLUMN name_norm;
ALTER TABLE accounts ADD COLUMN name_norm TEXT COLLATE "C" GENERATED ALWAYS AS (lower(last_name || ' ' || first_name)) STORED;
CREATE INDEX accounts_portal_name_norm_idx ON accounts (portal, name_norm, id);
