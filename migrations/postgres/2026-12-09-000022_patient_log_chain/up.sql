-- #38: the patient access log as an auditor needs it (see the SQLite migration for the why).
ALTER TABLE patient_access_log ADD COLUMN actor_kind TEXT NOT NULL DEFAULT 'person';
ALTER TABLE patient_access_log ADD COLUMN seq BIGINT;
ALTER TABLE patient_access_log ADD COLUMN prev_hash TEXT;
ALTER TABLE patient_access_log ADD COLUMN row_hash TEXT;
-- Which key made the MAC (a fingerprint, not the key), so a changed server secret shows as such.
ALTER TABLE patient_access_log ADD COLUMN key_id TEXT;
ALTER TABLE patient_access_log DISABLE TRIGGER patient_access_log_append_only;
UPDATE patient_access_log SET seq = r.n
FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY at, id) AS n FROM patient_access_log) AS r
WHERE r.id = patient_access_log.id;
ALTER TABLE patient_access_log ENABLE TRIGGER patient_access_log_append_only;
CREATE UNIQUE INDEX patient_access_log_seq ON patient_access_log (seq);
CREATE INDEX patient_access_log_deviation ON patient_access_log (deviation_id, at);

CREATE TABLE patient_access_log_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    row_hash TEXT,
    chain_from BIGINT NOT NULL
);
INSERT INTO patient_access_log_head (id, seq, row_hash, chain_from)
SELECT 1, COALESCE(MAX(seq), 0), NULL, COALESCE(MAX(seq), 0) + 1 FROM patient_access_log;

CREATE TABLE patient_log_links (
    deviation_id TEXT PRIMARY KEY REFERENCES deviations (id),
    patient_hash TEXT NOT NULL,
    until TIMESTAMP NOT NULL
);
CREATE INDEX patient_log_links_hash ON patient_log_links (patient_hash);
