-- The algorithm that signs a client's ID tokens: '' (RS256, the default of
-- OpenID Connect) or 'ES256'. Numbered after 00300 so that databases that
-- already have 00300 apply it in order.

-- +goose Up
ALTER TABLE apps ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE apps DROP COLUMN id_token_alg;
