DROP TABLE analysis_reference_counters;
DROP TABLE analysis_events;
DROP TABLE analysis_factors;
DROP TABLE analysis_participants;
DROP TABLE analysis_deviations;
DROP TABLE analyses;
DO $$
DECLARE s record;
BEGIN
    FOR s IN SELECT sequence_name FROM information_schema.sequences WHERE sequence_name LIKE 'analysis_ref_%' LOOP
        EXECUTE 'DROP SEQUENCE ' || quote_ident(s.sequence_name);
    END LOOP;
END
$$;
