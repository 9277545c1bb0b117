DELETE FROM integration_clients WHERE helseid_client_id IS NULL;
ALTER TABLE integration_clients DROP CONSTRAINT integration_clients_key_hashed;
ALTER TABLE integration_clients DROP CONSTRAINT integration_clients_one_credential;
ALTER TABLE integration_clients DROP COLUMN api_key_hash;
ALTER TABLE integration_clients DROP COLUMN api_key_prefix;
ALTER TABLE integration_clients ALTER COLUMN helseid_client_id SET NOT NULL;
