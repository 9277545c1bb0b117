DROP TABLE patient_access_log_purge;
DROP TABLE patient_access_log;
DROP FUNCTION patient_access_log_append_only();
DROP TABLE patient_identities;
