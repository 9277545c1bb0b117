-- Deviations and their append-only timeline. Dates a user gives (occurred_at, discovered_at) and
-- deadlines (Norwegian calendar dates) are ISO text; instants are UTC timestamps.
CREATE TABLE deviations (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    category TEXT NOT NULL REFERENCES categories (code),
    status TEXT NOT NULL,
    direction TEXT NOT NULL,
    reporter_id TEXT NOT NULL REFERENCES users (id),
    reporting_organisation_id TEXT NOT NULL REFERENCES organisations (id),
    reporting_unit_id TEXT REFERENCES units (id),
    recipient_organisation_id TEXT NOT NULL REFERENCES organisations (id),
    recipient_unit_id TEXT REFERENCES units (id),
    handler_id TEXT REFERENCES users (id),
    occurred_at TEXT NOT NULL,
    discovered_at TEXT,
    description TEXT NOT NULL,
    immediate_actions TEXT,
    suggested_improvement TEXT,
    harm_class TEXT NOT NULL,
    harm_level TEXT,
    handover_related BOOLEAN NOT NULL,
    agreement_reference TEXT,
    answer TEXT,
    answer_actions TEXT,
    submitted_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    acknowledged_at TIMESTAMP,
    answered_at TIMESTAMP,
    closed_at TIMESTAMP,
    acknowledge_due TEXT NOT NULL,
    answer_due TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX deviations_recipient ON deviations (recipient_organisation_id, submitted_at);
CREATE INDEX deviations_reporting ON deviations (reporting_organisation_id, submitted_at);
CREATE INDEX deviations_submitted ON deviations (submitted_at, id);
CREATE INDEX deviations_status ON deviations (status, answered_at);

CREATE TABLE deviation_events (
    id TEXT PRIMARY KEY NOT NULL,
    deviation_id TEXT NOT NULL REFERENCES deviations (id),
    seq INTEGER NOT NULL,
    at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL,
    actor_id TEXT REFERENCES users (id),
    actor_organisation_id TEXT REFERENCES organisations (id),
    from_status TEXT,
    to_status TEXT,
    text TEXT,
    organisation_id TEXT REFERENCES organisations (id),
    unit_id TEXT REFERENCES units (id),
    UNIQUE (deviation_id, seq)
);

-- One row per year; the row lock serialises submitters, and a rolled-back submit rolls back its
-- number too, so references are gap-free.
CREATE TABLE reference_counters (
    year INTEGER PRIMARY KEY NOT NULL,
    last_value INTEGER NOT NULL
);

CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL REFERENCES users (id),
    idempotency_key TEXT NOT NULL,
    request TEXT NOT NULL,
    deviation_id TEXT NOT NULL REFERENCES deviations (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- category '*' is the organisation's default unit.
CREATE TABLE routing_rules (
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    category TEXT NOT NULL,
    unit_id TEXT NOT NULL REFERENCES units (id),
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (organisation_id, category)
);

-- Append-only: denied accesses (and, when patient identity is enabled, every read of it).
CREATE TABLE access_log (
    id TEXT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    user_id TEXT NOT NULL,
    deviation_id TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL
);

-- SQLite has one writer; a write transaction starts by touching this row so it holds the write
-- lock from its first statement and never has to upgrade a read lock (which fails under load).
CREATE TABLE write_lock (
    id INTEGER PRIMARY KEY NOT NULL,
    n INTEGER NOT NULL
);
INSERT INTO write_lock (id, n) VALUES (1, 0);
