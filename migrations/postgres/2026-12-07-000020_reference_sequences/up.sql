-- A sequence per year replaces the counter row on PostgreSQL (src/db/references.rs): each
-- continues where its year's counter stopped. The table stays for SQLite's sake and for `down`.
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT year, last_value FROM reference_counters LOOP
    EXECUTE format('CREATE SEQUENCE IF NOT EXISTS reference_%s START %s', r.year, r.last_value + 1);
  END LOOP;
END $$;
