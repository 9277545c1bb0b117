-- The privacy officer (#18): reads the patient access log of their own organisation.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('reporter', 'handler', 'quality_advisor', 'analyst', 'admin', 'privacy_officer'));
