DROP INDEX deviations_open_at;
