-- Webhook endpoints (`integration::webhooks`): where an organisation's quality system wants to hear
-- of its events. The signing secrets are kept sealed (ChaCha20-Poly1305 under a key derived from
-- SAMAVVIK_SECRET); during a rotation the previous one signs too, until `previous_secret_until`.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    -- Space-separated event types; '' for all.
    event_types TEXT NOT NULL,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until TIMESTAMP,
    enabled BOOLEAN NOT NULL,
    disabled_reason TEXT,
    last_success_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK ((previous_secret IS NULL) = (previous_secret_until IS NULL))
);
CREATE INDEX webhook_endpoints_organisation ON webhook_endpoints (organisation_id);

-- A delivery is an outbox row like a mail (same claim, lease and retry), on the `webhook` channel,
-- for one endpoint; its id is the `webhook-id` the receiver sees on every attempt.
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'mail';
-- No REFERENCES: SQLite cannot drop a column that is in a foreign key (down.sql).
ALTER TABLE outbox ADD COLUMN endpoint_id TEXT;
CREATE INDEX outbox_endpoint ON outbox (endpoint_id, created_at);

-- Every attempt, for the endpoint's delivery log.
CREATE TABLE webhook_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
    message_id TEXT NOT NULL REFERENCES outbox (id),
    attempt INTEGER NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    status_code INTEGER,
    latency_ms INTEGER NOT NULL,
    error TEXT
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id);
CREATE INDEX webhook_attempts_message ON webhook_attempts (message_id);
