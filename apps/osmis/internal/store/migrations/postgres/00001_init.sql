-- +goose Up
CREATE TABLE mwas (
	id         BIGSERIAL PRIMARY KEY,
	name       TEXT NOT NULL,
	name_norm  TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL
);
CREATE TABLE mwa_domains (
	mwa_id BIGINT NOT NULL REFERENCES mwas(id) ON DELETE CASCADE,
	domain TEXT NOT NULL,
	PRIMARY KEY (mwa_id, domain)
);
CREATE TABLE staff (
	id            BIGSERIAL PRIMARY KEY,
	first_name    TEXT NOT NULL,
	last_name     TEXT NOT NULL,
	login_id      TEXT NOT NULL,
	login_norm    TEXT NOT NULL UNIQUE,
	email         TEXT NOT NULL,
	email_norm    TEXT NOT NULL UNIQUE,
	mwa_id        BIGINT NOT NULL REFERENCES mwas(id),
	status        TEXT NOT NULL,
	is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
	denied_reason TEXT NOT NULL DEFAULT '',
	denied_at     BIGINT NOT NULL DEFAULT 0,
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL
);
CREATE INDEX staff_mwa ON staff (mwa_id);
CREATE TABLE sessions (
	token_hash TEXT PRIMARY KEY,
	staff_id   BIGINT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	sub        TEXT NOT NULL,
	sid        TEXT NOT NULL,
	id_token   TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_sid ON sessions (sid);
CREATE INDEX sessions_sub ON sessions (sub);
CREATE INDEX sessions_staff ON sessions (staff_id);
CREATE TABLE login_states (
	state_hash TEXT PRIMARY KEY,
	verifier   TEXT NOT NULL,
	nonce      TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE TABLE outbox (
	id          BIGSERIAL PRIMARY KEY,
	op          TEXT NOT NULL,
	login_id    TEXT NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	attempts    BIGINT NOT NULL DEFAULT 0,
	next_at     BIGINT NOT NULL,
	lease_until BIGINT NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	done_at     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (done_at, next_at);
CREATE TABLE participants (
	id         BIGSERIAL PRIMARY KEY,
	mwa_id     BIGINT NOT NULL REFERENCES mwas(id),
	program    TEXT NOT NULL,
	status     TEXT NOT NULL,
	training   BOOLEAN NOT NULL DEFAULT FALSE,
	created_at BIGINT NOT NULL
);
CREATE INDEX participants_mwa ON participants (mwa_id, program, status);
CREATE TABLE tasks (
	id         BIGSERIAL PRIMARY KEY,
	staff_id   BIGINT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	title      TEXT NOT NULL,
	due_date   TEXT NOT NULL DEFAULT '',
	important  BOOLEAN NOT NULL DEFAULT FALSE,
	done       BOOLEAN NOT NULL DEFAULT FALSE,
	created_at BIGINT NOT NULL
);
CREATE INDEX tasks_staff ON tasks (staff_id);
CREATE TABLE system_links (
	id       BIGSERIAL PRIMARY KEY,
	label    TEXT NOT NULL,
	url      TEXT NOT NULL,
	position BIGINT NOT NULL
);
CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
-- +goose Down
DROP TABLE settings;
DROP TABLE system_links;
DROP TABLE tasks;
DROP TABLE participants;
DROP TABLE outbox;
DROP TABLE login_states;
DROP TABLE sessions;
DROP TABLE staff;
DROP TABLE mwa_domains;
DROP TABLE mwas;
