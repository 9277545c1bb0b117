-- Hendelsesanalyse (#34): a joint analysis of one or more deviations by the organisations
-- involved and the improvement group (src/analyses). Free text is JSON where it is a list.
CREATE TABLE analyses (
    id TEXT PRIMARY KEY,
    health_community_id TEXT NOT NULL REFERENCES health_communities (id),
    reference TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    -- [{"date": "2026-03-01", "fact": "…"}], ordered by date
    timeline TEXT NOT NULL,
    -- ["…", …]: where care went outside safe limits
    care_problems TEXT NOT NULL,
    conclusion TEXT,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX analyses_reference ON analyses (health_community_id, reference);
CREATE INDEX analyses_updated ON analyses (health_community_id, updated_at);

CREATE TABLE analysis_deviations (
    analysis_id TEXT NOT NULL REFERENCES analyses (id),
    deviation_id TEXT NOT NULL REFERENCES deviations (id),
    linked_at TIMESTAMP NOT NULL,
    PRIMARY KEY (analysis_id, deviation_id)
);
CREATE INDEX analysis_deviations_deviation ON analysis_deviations (deviation_id);

CREATE TABLE analysis_participants (
    analysis_id TEXT NOT NULL REFERENCES analyses (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (analysis_id, user_id)
);
CREATE INDEX analysis_participants_user ON analysis_participants (user_id);

-- Contributing factors (London protocol, with transitions between organisations added).
CREATE TABLE analysis_factors (
    id TEXT PRIMARY KEY,
    analysis_id TEXT NOT NULL REFERENCES analyses (id),
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX analysis_factors_analysis ON analysis_factors (analysis_id, created_at);

-- The analysis's own timeline: append-only, as the deviations'.
CREATE TABLE analysis_events (
    id TEXT PRIMARY KEY,
    analysis_id TEXT NOT NULL REFERENCES analyses (id),
    at TIMESTAMP NOT NULL,
    actor_id TEXT REFERENCES users (id),
    kind TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    text TEXT
);
CREATE INDEX analysis_events_analysis ON analysis_events (analysis_id, at);

-- SQLite numbers analyses per helsefellesskap and year in the write; PostgreSQL from a sequence
-- per helsefellesskap and year (src/db/analyses.rs), as deviations' references.
CREATE TABLE analysis_reference_counters (
    health_community_id TEXT NOT NULL,
    year INTEGER NOT NULL,
    last_value INTEGER NOT NULL,
    PRIMARY KEY (health_community_id, year)
);
