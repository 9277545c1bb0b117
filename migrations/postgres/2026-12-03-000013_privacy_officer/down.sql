DELETE FROM users WHERE role = 'privacy_officer';
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('reporter', 'handler', 'quality_advisor', 'analyst', 'admin'));
