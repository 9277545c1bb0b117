DROP TABLE job_runs;
DROP INDEX deviations_next_reminder;
ALTER TABLE deviations DROP COLUMN next_reminder_on;
