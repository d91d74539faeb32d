-- The administration console (internal/admin) and the visible audit trail.
-- See the SQLite migration of the same number for the design; here the
-- searched columns also get the "C" collation, so that a prefix range scan
-- (col >= prefix AND col < prefix || U+10FFFF) means byte order whatever
-- collation the database was created with.

-- +goose Up
CREATE TABLE staff_roles (
	account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	role       TEXT NOT NULL,
	app_id     TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	PRIMARY KEY (account_id, role, app_id)
);

ALTER TABLE accounts ALTER COLUMN user_id_norm TYPE TEXT COLLATE "C";
ALTER TABLE accounts ALTER COLUMN email_norm TYPE TEXT COLLATE "C";
ALTER TABLE accounts ALTER COLUMN mobile_digits TYPE TEXT COLLATE "C";
ALTER TABLE accounts ADD COLUMN name_norm TEXT COLLATE "C" GENERATED ALWAYS AS (lower(last_name || ' ' || first_name)) STORED;
CREATE INDEX accounts_portal_name_norm_idx ON accounts (portal, name_norm, id);
CREATE INDEX accounts_portal_email_search_idx ON accounts (portal, email_norm, id);
CREATE INDEX accounts_portal_mobile_search_idx ON accounts (portal, mobile_digits, id);

ALTER TABLE audit_events ADD COLUMN actor_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN actor_name TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN subject_user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN reason TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, occurred_at, id);
CREATE INDEX audit_events_portal_idx ON audit_events (portal, occurred_at, id);

CREATE TABLE audit_purges (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	cutoff     BIGINT NOT NULL,
	created_at BIGINT NOT NULL
);
-- +goose StatementBegin
CREATE FUNCTION audit_purges_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		IF NEW.cutoff > (extract(epoch FROM now()) - 365 * 86400) * 1000000 THEN
			RAISE EXCEPTION 'audit_purges: cutoff less than one year ago';
		END IF;
		RETURN NEW;
	END IF;
	RAISE EXCEPTION 'audit_purges is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_purges_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_purges
	FOR EACH ROW EXECUTE FUNCTION audit_purges_guard();
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' AND OLD.occurred_at < (SELECT coalesce(max(cutoff), 0) FROM audit_purges) THEN
		RETURN OLD;
	END IF;
	RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
-- +goose StatementEnd
DROP TABLE audit_purges;
DROP FUNCTION audit_purges_guard();
DROP INDEX audit_events_portal_idx;
DROP INDEX audit_events_actor_idx;
ALTER TABLE audit_events DROP COLUMN reason;
ALTER TABLE audit_events DROP COLUMN subject_user_id;
ALTER TABLE audit_events DROP COLUMN actor_name;
ALTER TABLE audit_events DROP COLUMN actor_kind;
DROP INDEX accounts_portal_mobile_search_idx;
DROP INDEX accounts_portal_email_search_idx;
DROP INDEX accounts_portal_name_norm_idx;
ALTER TABLE accounts DROP COLUMN name_norm;
DROP TABLE staff_roles;
