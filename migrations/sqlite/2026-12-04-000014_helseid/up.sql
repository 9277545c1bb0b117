-- HelseID (#17). A person is pre-registered by their organisation's admin, found at first login
-- by HPR number (or e-mail, where the provider gives one), and from then on by the provider's
-- subject. One HelseID person may act for several organisations, each through its own user row.
ALTER TABLE users ADD COLUMN hpr_number TEXT;
CREATE UNIQUE INDEX users_hpr_number ON users (organisation_id, hpr_number) WHERE hpr_number IS NOT NULL;

-- pid_hash: a keyed hash of the national identity number, never the number itself.
CREATE TABLE user_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    pid_hash TEXT,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (issuer, subject, organisation_id)
);

-- DPoP proofs seen (RFC 9449 §11.1), shared by every instance: a proof's jti is stored until its
-- iat window has passed, and a second insert of the same one is a replay.
CREATE TABLE dpop_proofs (
    jti_hash TEXT PRIMARY KEY,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX dpop_proofs_expiry ON dpop_proofs (expires_at);

-- Machine clients: an organisation's quality system calling the API with its own HelseID client
-- (client credentials, no person). Each acts through a user row of its own (`users.machine`), so
-- the access log, the timeline and the policy see it as it is; it reads what its organisation's
-- quality advisor reads, and writes only with `deviations:write`.
ALTER TABLE users ADD COLUMN machine BOOLEAN NOT NULL DEFAULT false;
CREATE TABLE integration_clients (
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
CREATE INDEX integration_clients_organisation ON integration_clients (organisation_id);
-- A revoked client's id may be registered again.
CREATE UNIQUE INDEX integration_clients_helseid ON integration_clients (helseid_client_id) WHERE active;

-- Self-enrolment: an organisation may let people it has not registered ask for access at their
-- first HelseID login. They get a user row as reporter, pending until an admin activates it.
ALTER TABLE organisations ADD COLUMN self_enrolment BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN pending BOOLEAN NOT NULL DEFAULT false;

-- A unit may have an organisation number of its own (an underenhet in Enhetsregisteret); a HelseID
-- client of that unit names it in orgnr_child.
ALTER TABLE units ADD COLUMN org_number TEXT;
CREATE UNIQUE INDEX units_org_number ON units (org_number) WHERE org_number IS NOT NULL;
