-- A machine client in local mode (no HelseID) holds an API key instead of a HelseID client id: the
-- prefix is shown and looked up, the key itself kept only as a hash. SQLite cannot drop NOT NULL,
-- so the table is rebuilt; nothing refers to it.
CREATE TABLE integration_clients_new (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    user_id TEXT NOT NULL UNIQUE REFERENCES users (id),
    name TEXT NOT NULL,
    helseid_client_id TEXT,
    scopes TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    api_key_prefix TEXT UNIQUE,
    api_key_hash TEXT,
    CHECK ((helseid_client_id IS NULL) <> (api_key_prefix IS NULL)),
    CHECK ((api_key_prefix IS NULL) = (api_key_hash IS NULL))
);
INSERT INTO integration_clients_new (id, organisation_id, user_id, name, helseid_client_id, scopes, active, created_at, last_used_at)
SELECT id, organisation_id, user_id, name, helseid_client_id, scopes, active, created_at, last_used_at FROM integration_clients;
DROP TABLE integration_clients;
ALTER TABLE integration_clients_new RENAME TO integration_clients;
CREATE INDEX integration_clients_organisation ON integration_clients (organisation_id);
-- A revoked client's id may be registered again.
CREATE UNIQUE INDEX integration_clients_helseid ON integration_clients (helseid_client_id) WHERE active;
