-- The reminder job reads only the deviations whose next reminder is due (src/mail/reminders.rs):
-- the Oslo date on which each next needs looking at, NULL when none. Open ones are looked at on
-- the first pass after the upgrade, which sets each one's real date.
ALTER TABLE deviations ADD COLUMN next_reminder_on TEXT;
UPDATE deviations SET next_reminder_on = date('now')
  WHERE status IN ('submitted', 'in_progress');
CREATE INDEX deviations_next_reminder ON deviations (next_reminder_on) WHERE next_reminder_on IS NOT NULL;

-- One row per periodic job and due time (src/jobs.rs): the instance that inserts it runs the job;
-- the others see the row and do not.
CREATE TABLE job_runs (
  job TEXT NOT NULL,
  due_at TIMESTAMP NOT NULL,
  instance TEXT NOT NULL,
  started_at TIMESTAMP NOT NULL,
  finished_at TIMESTAMP,
  items INTEGER,
  PRIMARY KEY (job, due_at)
);
