DROP TABLE patient_log_links;
DROP TABLE patient_access_log_head;
DROP INDEX patient_access_log_deviation;
DROP INDEX patient_access_log_seq;
ALTER TABLE patient_access_log DROP COLUMN key_id;
ALTER TABLE patient_access_log DROP COLUMN row_hash;
ALTER TABLE patient_access_log DROP COLUMN prev_hash;
ALTER TABLE patient_access_log DROP COLUMN seq;
ALTER TABLE patient_access_log DROP COLUMN actor_kind;
