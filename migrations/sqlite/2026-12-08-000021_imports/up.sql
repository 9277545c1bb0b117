-- Deviations imported from a quality system's export (src/import): where each came from, so a
-- second run of the same file adds nothing and reports can say which periods are "fra import".
ALTER TABLE deviations ADD COLUMN source_system TEXT;
ALTER TABLE deviations ADD COLUMN source_id TEXT;
CREATE UNIQUE INDEX deviations_source ON deviations (source_system, source_id) WHERE source_system IS NOT NULL;
CREATE INDEX deviations_imported ON deviations (submitted_at) WHERE source_system IS NOT NULL;

-- One row per finished import or dry run, from the command line or the admin API: its counts and
-- its report (the refused rows by line, column and reason; never a refused value).
CREATE TABLE imports (
  id TEXT PRIMARY KEY,
  created_at TIMESTAMP NOT NULL,
  created_by TEXT REFERENCES users (id),
  source_system TEXT NOT NULL,
  file_name TEXT NOT NULL,
  dry_run BOOLEAN NOT NULL,
  status TEXT NOT NULL,
  rows_read INTEGER NOT NULL,
  imported INTEGER NOT NULL,
  skipped INTEGER NOT NULL,
  refused INTEGER NOT NULL,
  report TEXT NOT NULL,
  finished_at TIMESTAMP NOT NULL
);
CREATE INDEX imports_created ON imports (created_at);
