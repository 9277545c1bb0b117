DELETE FROM integration_clients WHERE helseid_client_id IS NULL;
CREATE TABLE integration_clients_old (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    user_id TEXT NOT NULL UNIQUE REFERENCES users (id),
    name TEXT NOT NULL,
    helseid_client_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
INSERT INTO integration_clients_old SELECT id, organisation_id, user_id, name, helseid_client_id, scopes, active, created_at, last_used_at FROM integration_clients;
DROP TABLE integration_clients;
ALTER TABLE integration_clients_old RENAME TO integration_clients;
CREATE INDEX integration_clients_organisation ON integration_clients (organisation_id);
CREATE UNIQUE INDEX integration_clients_helseid ON integration_clients (helseid_client_id) WHERE active;
