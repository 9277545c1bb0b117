DROP INDEX deviations_answered;
ALTER TABLE deviations DROP COLUMN answered_on_time;
ALTER TABLE deviations DROP COLUMN answer_days;
ALTER TABLE deviations DROP COLUMN acknowledge_days;
