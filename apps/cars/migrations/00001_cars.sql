-- CARS e-Services' own tables. The SQL is portable: the same file runs on
-- SQLite and PostgreSQL. Times are Unix milliseconds; sealed values are
-- base64 text; booleans are 0/1 integers.

-- +goose Up
CREATE TABLE cars_accounts (
    number        TEXT PRIMARY KEY,
    type          TEXT NOT NULL,
    ident_norm    TEXT NOT NULL,
    ident         TEXT NOT NULL,
    name          TEXT NOT NULL,
    street        TEXT NOT NULL,
    city          TEXT NOT NULL,
    state         TEXT NOT NULL,
    zip           TEXT NOT NULL,
    email         TEXT NOT NULL,
    balance_cents BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (type, ident_norm)
);

CREATE TABLE cars_users (
    sub           TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    phone         TEXT NOT NULL,
    last_login_at BIGINT NOT NULL,
    prev_login_at BIGINT NOT NULL
);

-- A sign-in in progress at MILogin: looked up by the hash of its state.
CREATE TABLE cars_logins (
    state_hash      TEXT PRIMARY KEY,
    nonce           TEXT NOT NULL,
    verifier_sealed TEXT NOT NULL,
    kind            TEXT NOT NULL,
    expires_at      BIGINT NOT NULL
);

CREATE TABLE cars_sessions (
    id              TEXT PRIMARY KEY,
    sub             TEXT NOT NULL,
    kind            TEXT NOT NULL,
    id_token_sealed TEXT NOT NULL,
    request_draft   TEXT NOT NULL DEFAULT '',
    access_draft    TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);

CREATE TABLE cars_requests (
    confirmation   TEXT PRIMARY KEY,
    sub            TEXT NOT NULL,
    account_number TEXT NOT NULL,
    delivery       TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX cars_requests_sub ON cars_requests (sub, created_at);

CREATE TABLE cars_codes (
    hash           TEXT PRIMARY KEY,
    account_number TEXT NOT NULL,
    sub            TEXT NOT NULL,
    confirmation   TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE cars_access (
    sub            TEXT NOT NULL,
    account_number TEXT NOT NULL,
    notify         INTEGER NOT NULL,
    notify_email   TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (sub, account_number)
);

CREATE TABLE cars_messages (
    id         TEXT PRIMARY KEY,
    sub        TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX cars_messages_sub ON cars_messages (sub, created_at);

CREATE TABLE cars_outbox (
    id          TEXT PRIMARY KEY,
    to_addr     TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body_sealed TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    next_at     BIGINT NOT NULL,
    sent_at     BIGINT NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cars_outbox_due ON cars_outbox (sent_at, next_at);

CREATE TABLE cars_letters (
    id             TEXT PRIMARY KEY,
    confirmation   TEXT NOT NULL,
    account_number TEXT NOT NULL,
    name           TEXT NOT NULL,
    street         TEXT NOT NULL,
    city           TEXT NOT NULL,
    state          TEXT NOT NULL,
    zip            TEXT NOT NULL,
    code_sealed    TEXT NOT NULL,
    expires_at     BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    mailed_at      BIGINT NOT NULL DEFAULT 0
);

-- Wrong authorization codes per MILogin user in the current hour.
CREATE TABLE cars_tries (
    sub          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    tries        INTEGER NOT NULL
);

CREATE TABLE cars_audit (
    id     TEXT PRIMARY KEY,
    at     BIGINT NOT NULL,
    sub    TEXT NOT NULL,
    event  TEXT NOT NULL,
    detail TEXT NOT NULL
);

-- +goose Down
DROP TABLE cars_audit;
DROP TABLE cars_tries;
DROP TABLE cars_letters;
DROP TABLE cars_outbox;
DROP TABLE cars_messages;
DROP TABLE cars_access;
DROP TABLE cars_codes;
DROP TABLE cars_requests;
DROP TABLE cars_sessions;
DROP TABLE cars_logins;
DROP TABLE cars_users;
DROP TABLE cars_accounts;
