-- Mail is rendered when it is sent: a row keeps its template and the data it needs (MailData as
-- JSON, never free text), so a template change applies to mail not yet sent and the reference
-- number is read from the deviation at delivery. Rows from before keep their rendered text
-- (data = '') and are sent as they are.
ALTER TABLE outbox ADD COLUMN data TEXT NOT NULL DEFAULT '';
