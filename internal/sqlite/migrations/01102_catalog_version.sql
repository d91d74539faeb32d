-- The application catalog's version: the triggers raise it in the same
-- transaction as any change to apps, so that a process keeping the catalog
-- in memory knows by reading one integer whether its copy is current.

-- +goose Up
CREATE TABLE catalog_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
INSERT INTO catalog_version (id, version) VALUES (1, 1);

-- +goose StatementBegin
CREATE TRIGGER apps_inserted AFTER INSERT ON apps
BEGIN
  UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER apps_updated AFTER UPDATE ON apps
BEGIN
  UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER apps_deleted AFTER DELETE ON apps
BEGIN
  UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER apps_deleted;
DROP TRIGGER apps_updated;
DROP TRIGGER apps_inserted;
DROP TABLE catalog_version;
