DROP TRIGGER patient_access_log_no_delete;
DROP TRIGGER patient_access_log_no_update;
DROP TABLE patient_access_log_purge;
DROP TABLE patient_access_log;
DROP TABLE patient_identities;
