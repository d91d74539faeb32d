-- A mobile number counts for recovery and for the "profile incomplete" rule
-- only once a PIN sent to it was confirmed: mobile_verified says so. Before
-- this, a number reached an account proven only when Mobile (Text/SMS) was
-- chosen at sign-up (the PIN went to it), so that is what existing rows
-- are taken to have proven.

-- +goose Up
ALTER TABLE accounts ADD COLUMN mobile_verified INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET mobile_verified = 1 WHERE recover_by_mobile = 1 AND mobile <> '';

-- +goose Down
ALTER TABLE accounts DROP COLUMN mobile_verified;
