-- The OIDC sweep runs every minute on every node and deletes session links
-- by age: without an index that delete reads the whole table each time.

-- +goose Up
CREATE INDEX session_clients_created_at_idx ON session_clients (created_at);

-- +goose Down
DROP INDEX session_clients_created_at_idx;
