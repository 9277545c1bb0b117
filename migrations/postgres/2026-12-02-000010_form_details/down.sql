ALTER TABLE deviations ADD COLUMN immediate_actions TEXT;
ALTER TABLE deviations ADD COLUMN suggested_improvement TEXT;
ALTER TABLE deviations ADD COLUMN agreement_reference TEXT;
UPDATE deviations SET
    immediate_actions = details::json ->> 'immediate_actions',
    suggested_improvement = details::json ->> 'suggested_improvement',
    agreement_reference = details::json ->> 'agreement_reference';
ALTER TABLE deviations DROP COLUMN details;
