-- An OpenID Connect client's initiate_login_uri (OpenID Connect Core 1.0
-- §4, third-party initiated login): where the home page sends a person to
-- start a sign-in at the application, when it has no launch URL. '' for none.

-- +goose Up
ALTER TABLE apps ADD COLUMN initiate_login_uri TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE apps DROP COLUMN initiate_login_uri;
