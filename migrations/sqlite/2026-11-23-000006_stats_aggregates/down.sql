DROP INDEX deviations_resolved;
ALTER TABLE deviations DROP COLUMN resolved_at;
DROP INDEX deviations_stats;
CREATE INDEX deviations_open_at ON deviations (submitted_at, answered_at, closed_at, answer_due);
