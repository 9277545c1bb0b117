-- Handling times in Norwegian working days, fixed when the deviation is acknowledged and answered
-- (in that transaction), so statistics read numbers instead of recomputing calendars per row.
ALTER TABLE deviations ADD COLUMN acknowledge_days INTEGER;
ALTER TABLE deviations ADD COLUMN answer_days INTEGER;
ALTER TABLE deviations ADD COLUMN answered_on_time BOOLEAN;
CREATE INDEX deviations_answered ON deviations (answered_at);
