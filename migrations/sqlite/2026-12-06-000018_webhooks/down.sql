DROP TABLE webhook_attempts;
DELETE FROM outbox WHERE channel <> 'mail';
DROP INDEX outbox_endpoint;
ALTER TABLE outbox DROP COLUMN endpoint_id;
ALTER TABLE outbox DROP COLUMN channel;
DROP TABLE webhook_endpoints;
