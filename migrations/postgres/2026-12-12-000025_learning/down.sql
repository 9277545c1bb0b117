ALTER TABLE users DROP COLUMN newsletter_since;
DROP TABLE learning_notes;
