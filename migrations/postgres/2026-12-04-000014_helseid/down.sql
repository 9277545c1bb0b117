ALTER TABLE users DROP COLUMN pending;
ALTER TABLE organisations DROP COLUMN self_enrolment;
DROP TABLE integration_clients;
ALTER TABLE users DROP COLUMN machine;
DROP TABLE dpop_proofs;
DROP TABLE user_identities;
DROP INDEX users_hpr_number;
ALTER TABLE users DROP COLUMN hpr_number;
