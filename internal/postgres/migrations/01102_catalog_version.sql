-- The application catalog's version: the trigger raises it in the same
-- transaction as any change to apps, so that a process keeping the catalog
-- in memory knows by reading one integer whether its copy is current.

-- +goose Up
CREATE TABLE catalog_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version BIGINT NOT NULL
);
INSERT INTO catalog_version (id, version) VALUES (1, 1);

-- +goose StatementBegin
CREATE FUNCTION bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE catalog_version SET version = version + 1 WHERE id = 1;
  RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER apps_changed AFTER INSERT OR UPDATE OR DELETE ON apps
  FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();

-- +goose Down
DROP TRIGGER apps_changed ON apps;
DROP FUNCTION bump_catalog_version();
DROP TABLE catalog_version;
