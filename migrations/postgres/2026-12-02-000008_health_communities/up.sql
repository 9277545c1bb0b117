-- A region holds several helsefellesskap (a hospital trust and its municipalities); statistics,
-- the tertial report, the improvement group and ASU are per helsefellesskap.
CREATE TABLE health_communities (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    -- Escalations (the improvement group) and the tertial report (ASU), comma-separated; empty =
    -- the deployment's SAMAVVIK_ESCALATION_RECIPIENTS / SAMAVVIK_COMMITTEE_RECIPIENTS.
    improvement_group_recipients TEXT NOT NULL DEFAULT '',
    committee_recipients TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- An existing deployment is one helsefellesskap: everything already here belongs to it.
INSERT INTO health_communities (id, name, created_at, updated_at)
VALUES ('01936a00-0000-7000-8000-000000000001', 'Helsefellesskapet', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);

-- NULL: an organisation of the region itself (a regional improvement forum), party to no case.
ALTER TABLE organisations ADD COLUMN health_community_id TEXT REFERENCES health_communities (id);
UPDATE organisations SET health_community_id = '01936a00-0000-7000-8000-000000000001';
CREATE INDEX organisations_health_community ON organisations (health_community_id);

-- The helsefellesskap a deviation was reported in, kept on the row so statistics filter and group
-- by it from their covering indexes.
ALTER TABLE deviations ADD COLUMN health_community_id TEXT NOT NULL DEFAULT '01936a00-0000-7000-8000-000000000001';

DROP INDEX deviations_stats;
CREATE INDEX deviations_stats ON deviations (submitted_at) INCLUDE (direction, category, kind, status, harm_class, harm_level, reporting_organisation_id, recipient_organisation_id, recipient_unit_id, acknowledge_days, answer_days, answered_on_time, health_community_id);
DROP INDEX deviations_resolved;
CREATE INDEX deviations_resolved ON deviations (resolved_at, submitted_at) INCLUDE (answer_due, health_community_id);
