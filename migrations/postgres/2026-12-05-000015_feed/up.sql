-- The change feed (`db/feed.rs`): one entry per event and organisation that was a party to it when
-- it happened (the reporter's, the recipient's, and on a forward the one it left). Positions come
-- from a sequence when the row is written, but transactions commit in any order, so a reader
-- going by position alone could pass a position whose transaction commits later. Each entry
-- therefore keeps the id of the transaction that wrote it (`tx`), the feed is read in (tx,
-- position) order, and only entries of transactions older than every transaction still running
-- (the snapshot's xmin) are shown: those are final, and every later one sorts after them.
CREATE TABLE feed_entries (
    position BIGSERIAL PRIMARY KEY,
    tx BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    event_id TEXT NOT NULL REFERENCES deviation_events (id),
    deviation_id TEXT NOT NULL REFERENCES deviations (id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX feed_entries_event ON feed_entries (event_id, organisation_id);
CREATE INDEX feed_entries_organisation ON feed_entries (organisation_id, tx, position);

-- The events so far, for the organisations that were parties to them, in the order they happened.
INSERT INTO feed_entries (organisation_id, event_id, deviation_id, kind, status, occurred_at)
SELECT p.organisation_id, e.id, e.deviation_id, e.kind, COALESCE(e.to_status, d.status), e.at
FROM (
    SELECT e.id AS event_id, d.reporting_organisation_id AS organisation_id
    FROM deviation_events e JOIN deviations d ON d.id = e.deviation_id
    UNION
    SELECT e.id, d.recipient_organisation_id
    FROM deviation_events e JOIN deviations d ON d.id = e.deviation_id
    UNION
    SELECT e.id, e.actor_organisation_id FROM deviation_events e WHERE e.actor_organisation_id IS NOT NULL
) p
JOIN deviation_events e ON e.id = p.event_id
JOIN deviations d ON d.id = e.deviation_id
ORDER BY e.at, e.deviation_id, e.seq, p.organisation_id;
