-- Tiltak (#35): what an analysis (or the improvement group directly) decides to change, with an
-- owner and a due date, followed to the end; and what it should change in the figures — a
-- category (optionally one direction and one receiving unit) from the date it took effect.
CREATE TABLE actions (
    id TEXT PRIMARY KEY,
    health_community_id TEXT NOT NULL REFERENCES health_communities (id),
    analysis_id TEXT REFERENCES analyses (id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    responsible_organisation_id TEXT NOT NULL REFERENCES organisations (id),
    responsible_user_id TEXT NOT NULL REFERENCES users (id),
    due_on DATE NOT NULL,
    status TEXT NOT NULL,
    drop_reason TEXT,
    category TEXT NOT NULL,
    direction TEXT,
    unit_id TEXT REFERENCES units (id),
    effective_on DATE,
    -- 0: nothing sent yet; 1: the reminder before the due date; 2: the one on it (#35, reminders)
    reminder_stage INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX actions_community_due ON actions (health_community_id, status, due_on);
CREATE INDEX actions_owner ON actions (responsible_user_id);
CREATE INDEX actions_organisation ON actions (responsible_organisation_id);
CREATE INDEX actions_analysis ON actions (analysis_id);

-- The action's own timeline: append-only.
CREATE TABLE action_events (
    id TEXT PRIMARY KEY,
    action_id TEXT NOT NULL REFERENCES actions (id),
    at TIMESTAMP NOT NULL,
    actor_id TEXT REFERENCES users (id),
    kind TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT
);
CREATE INDEX action_events_action ON action_events (action_id, at);
