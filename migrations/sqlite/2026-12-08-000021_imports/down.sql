DROP TABLE imports;
DROP INDEX deviations_imported;
DROP INDEX deviations_source;
ALTER TABLE deviations DROP COLUMN source_id;
ALTER TABLE deviations DROP COLUMN source_system;
