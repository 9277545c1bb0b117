DROP TABLE write_lock;
DROP TABLE access_log;
DROP TABLE routing_rules;
DROP TABLE idempotency_keys;
DROP TABLE reference_counters;
DROP TABLE deviation_events;
DROP TABLE deviations;
