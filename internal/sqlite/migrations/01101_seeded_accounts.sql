-- Accounts made in bulk for load tests share one password: seeded marks
-- them, and a server refuses their sign-in unless started with
-- --allow-seeded.

-- +goose Up
ALTER TABLE accounts ADD COLUMN seeded INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE accounts DROP COLUMN seeded;
