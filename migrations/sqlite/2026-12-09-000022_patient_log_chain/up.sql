-- #38: the patient access log as an auditor needs it.
-- Who: a person or a machine (a machine is refused, and the refusal is logged under its own kind).
ALTER TABLE patient_access_log ADD COLUMN actor_kind TEXT NOT NULL DEFAULT 'person';
-- A hash chain: each row's MAC covers the previous row's, in the order `seq` gives
-- (src/patients/chain.rs). Rows from before this migration are numbered but not chained:
-- `patient_access_log_head.chain_from` says where the chain begins.
ALTER TABLE patient_access_log ADD COLUMN seq BIGINT;
ALTER TABLE patient_access_log ADD COLUMN prev_hash TEXT;
ALTER TABLE patient_access_log ADD COLUMN row_hash TEXT;
-- Which key made the MAC (a fingerprint, not the key), so a changed server secret shows as such.
ALTER TABLE patient_access_log ADD COLUMN key_id TEXT;
DROP TRIGGER patient_access_log_no_update;
UPDATE patient_access_log SET seq = r.n
FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY at, id) AS n FROM patient_access_log) AS r
WHERE r.id = patient_access_log.id;
CREATE TRIGGER patient_access_log_no_update BEFORE UPDATE ON patient_access_log
BEGIN
    SELECT RAISE(ABORT, 'patient_access_log is append-only');
END;
CREATE UNIQUE INDEX patient_access_log_seq ON patient_access_log (seq);
CREATE INDEX patient_access_log_deviation ON patient_access_log (deviation_id, at);

-- INSERT OR REPLACE deletes the old row without firing delete triggers (unless recursive_triggers
-- is on, which a sqlite3 shell does not set): an insert that meets an existing row is refused first.
CREATE TRIGGER patient_access_log_no_replace BEFORE INSERT ON patient_access_log
WHEN EXISTS (SELECT 1 FROM patient_access_log WHERE id = NEW.id OR seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'patient_access_log is append-only');
END;

-- The chain's head: the last row's number and MAC, taken under the write lock by every insert.
CREATE TABLE patient_access_log_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    row_hash TEXT,
    chain_from BIGINT NOT NULL
);
INSERT INTO patient_access_log_head (id, seq, row_hash, chain_from)
SELECT 1, COALESCE(MAX(seq), 0), NULL, COALESCE(MAX(seq), 0) + 1 FROM patient_access_log;

-- Innsyn after erasure: erasing an identity moves its keyed hash here, kept only as long as the
-- access log keeps rows about the deviation (`until`), so every look stays findable for exactly
-- as long as the log itself is kept, and no longer.
CREATE TABLE patient_log_links (
    deviation_id TEXT PRIMARY KEY REFERENCES deviations (id),
    patient_hash TEXT NOT NULL,
    until TIMESTAMP NOT NULL
);
CREATE INDEX patient_log_links_hash ON patient_log_links (patient_hash);
