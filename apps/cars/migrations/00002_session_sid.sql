-- The MILogin session (the ID token's sid) a CARS session came from, so a
-- back-channel logout ends exactly the sessions it names.

-- +goose Up
ALTER TABLE cars_sessions ADD COLUMN sid TEXT NOT NULL DEFAULT '';
CREATE INDEX cars_sessions_sub ON cars_sessions (sub, sid);

-- +goose Down
DROP INDEX cars_sessions_sub;
ALTER TABLE cars_sessions DROP COLUMN sid;
