-- The newsletter (#36): a message may carry its one-click unsubscribe address (RFC 8058), which
-- the sender puts in the List-Unsubscribe header.
ALTER TABLE outbox ADD COLUMN list_unsubscribe TEXT;
