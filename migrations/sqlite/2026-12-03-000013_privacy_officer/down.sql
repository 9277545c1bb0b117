-- Back to five roles: privacy officers are removed first (their log rows stay).
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt as its documentation
-- describes (lang_altertable.html, "other kinds of table schema changes"), with foreign keys off
-- and outside diesel's transaction (metadata.toml), then checked before the commit.
PRAGMA foreign_keys = OFF;
BEGIN;
DELETE FROM users WHERE role = 'privacy_officer';
CREATE TABLE users_new (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    unit_id TEXT REFERENCES units (id),
    role TEXT NOT NULL CHECK (role IN ('reporter', 'handler', 'quality_advisor', 'analyst', 'admin')),
    password_hash TEXT,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    session_epoch INTEGER NOT NULL DEFAULT 0
);
INSERT INTO users_new (id, email, name, organisation_id, unit_id, role, password_hash, active, created_at, updated_at, session_epoch) SELECT id, email, name, organisation_id, unit_id, role, password_hash, active, created_at, updated_at, session_epoch FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX users_organisation ON users (organisation_id);
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
