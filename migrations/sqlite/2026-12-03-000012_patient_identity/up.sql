-- Patient identity (#18), kept apart from the case. The number (and name) is sealed with
-- XChaCha20-Poly1305 under a named key, bound to the deviation's id (src/patients/keys.rs); the
-- keyed hash finds other deviations about the same patient without decrypting. Erasure empties
-- the three and stamps erased_at, so a later reveal can say the identity was erased.
CREATE TABLE patient_identities (
    deviation_id TEXT PRIMARY KEY REFERENCES deviations (id),
    key_id TEXT,
    ciphertext TEXT,
    patient_hash TEXT,
    created_at TIMESTAMP NOT NULL,
    erased_at TIMESTAMP
);
CREATE INDEX patient_identities_hash ON patient_identities (patient_hash) WHERE patient_hash IS NOT NULL;
CREATE INDEX patient_identities_key ON patient_identities (key_id) WHERE key_id IS NOT NULL;

-- Every look at a patient's identity (Normen): who, as what, from where, on which deviation, why,
-- and what came of it. Never the identity in clear; the keyed hash links the rows to a patient.
CREATE TABLE patient_access_log (
    id TEXT PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    deviation_id TEXT,
    action TEXT NOT NULL,
    reason TEXT,
    reason_text TEXT,
    result TEXT NOT NULL,
    patient_hash TEXT
);
CREATE INDEX patient_access_log_patient ON patient_access_log (patient_hash, at);
CREATE INDEX patient_access_log_user ON patient_access_log (user_id, at);
CREATE INDEX patient_access_log_at ON patient_access_log (at);

-- The log is append-only in the database itself. The one deletion allowed is the retention job's:
-- in one transaction it writes the cut-off here, deletes the rows older than it, and removes the
-- cut-off again. Anything else that updates or deletes a row is refused by the triggers below.
CREATE TABLE patient_access_log_purge (
    before TIMESTAMP NOT NULL
);

CREATE TRIGGER patient_access_log_no_update BEFORE UPDATE ON patient_access_log
BEGIN
    SELECT RAISE(ABORT, 'patient_access_log is append-only');
END;
CREATE TRIGGER patient_access_log_no_delete BEFORE DELETE ON patient_access_log
WHEN NOT EXISTS (SELECT 1 FROM patient_access_log_purge WHERE OLD.at < before)
BEGIN
    SELECT RAISE(ABORT, 'patient_access_log is append-only');
END;
