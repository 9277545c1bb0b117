-- Læringsnotat (#36): what a concluded analysis learned, written anonymised by one who worked on
-- it and readable by everyone in its helsefellesskap; unpublished (never deleted) by its author or
-- the improvement group.
CREATE TABLE learning_notes (
    id TEXT PRIMARY KEY,
    analysis_id TEXT NOT NULL REFERENCES analyses (id),
    health_community_id TEXT NOT NULL REFERENCES health_communities (id),
    title TEXT NOT NULL,
    what_happened TEXT NOT NULL,
    why TEXT NOT NULL,
    what_changed TEXT NOT NULL,
    author_id TEXT NOT NULL REFERENCES users (id),
    -- Where the lesson comes from, as readers see it (the author is named only to those who may
    -- take the note down).
    author_organisation_id TEXT NOT NULL REFERENCES organisations (id),
    published_at TIMESTAMP NOT NULL,
    unpublished_at TIMESTAMP,
    unpublished_by TEXT REFERENCES users (id)
);
CREATE INDEX learning_notes_community ON learning_notes (health_community_id, published_at);
CREATE INDEX learning_notes_analysis ON learning_notes (analysis_id);

-- The improvement group's newsletter (#36): subscribed since when (NULL: not subscribed). The
-- time is part of what an unsubscribe link signs, so a link from before a new subscription no
-- longer works.
ALTER TABLE users ADD COLUMN newsletter_since TIMESTAMP;
