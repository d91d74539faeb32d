-- A parked sign-in can end without access (the person cancels the Terms &
-- Conditions): refusal holds the error the protocol reports to the
-- application, '' otherwise.

-- +goose Up
ALTER TABLE login_requests ADD COLUMN refusal TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE login_requests DROP COLUMN refusal;
