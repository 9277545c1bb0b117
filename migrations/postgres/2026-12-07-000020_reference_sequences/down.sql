-- Back to the counter rows: each year's counter at its sequence's last number.
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT sequencename, last_value FROM pg_sequences
           WHERE schemaname = current_schema() AND sequencename ~ '^reference_[0-9]+$' LOOP
    IF r.last_value IS NOT NULL THEN
      INSERT INTO reference_counters (year, last_value)
        VALUES (substr(r.sequencename, 11)::int, r.last_value)
        ON CONFLICT (year) DO UPDATE SET last_value = greatest(reference_counters.last_value, excluded.last_value);
    END IF;
    EXECUTE format('DROP SEQUENCE %I', r.sequencename);
  END LOOP;
END $$;
