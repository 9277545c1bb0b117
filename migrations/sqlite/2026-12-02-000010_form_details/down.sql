ALTER TABLE deviations ADD COLUMN immediate_actions TEXT;
ALTER TABLE deviations ADD COLUMN suggested_improvement TEXT;
ALTER TABLE deviations ADD COLUMN agreement_reference TEXT;
UPDATE deviations SET
    immediate_actions = json_extract(details, '$.immediate_actions'),
    suggested_improvement = json_extract(details, '$.suggested_improvement'),
    agreement_reference = json_extract(details, '$.agreement_reference');
ALTER TABLE deviations DROP COLUMN details;
