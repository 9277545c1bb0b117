-- «Var tilbakemeldingen nyttig?» (#37): the reporter's rating of the answer she got, one per case,
-- changed in place while she may; the statistics read it with the case's direction and recipient.
CREATE TABLE feedback_ratings (
    deviation_id TEXT PRIMARY KEY REFERENCES deviations (id),
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment TEXT,
    rated_by TEXT NOT NULL REFERENCES users (id),
    rated_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
