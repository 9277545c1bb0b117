-- A machine client in local mode (no HelseID) holds an API key instead of a HelseID client id: the
-- prefix is shown and looked up, the key itself kept only as a hash.
ALTER TABLE integration_clients ALTER COLUMN helseid_client_id DROP NOT NULL;
ALTER TABLE integration_clients ADD COLUMN api_key_prefix TEXT UNIQUE;
ALTER TABLE integration_clients ADD COLUMN api_key_hash TEXT;
ALTER TABLE integration_clients ADD CONSTRAINT integration_clients_one_credential
    CHECK ((helseid_client_id IS NULL) <> (api_key_prefix IS NULL));
ALTER TABLE integration_clients ADD CONSTRAINT integration_clients_key_hashed
    CHECK ((api_key_prefix IS NULL) = (api_key_hash IS NULL));
