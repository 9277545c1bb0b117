DROP TABLE analysis_reference_counters;
DROP TABLE analysis_events;
DROP TABLE analysis_factors;
DROP TABLE analysis_participants;
DROP TABLE analysis_deviations;
DROP TABLE analyses;
