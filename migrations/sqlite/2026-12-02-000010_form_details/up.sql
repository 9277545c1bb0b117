-- The form's optional free-text answers (and any added later) live together as one JSON object,
-- keyed by field name, as the form definition in src/deviations/form.rs lists them. Nothing
-- queries or counts them, so a new one needs no column; absent answers are left out.
-- json_patch drops the keys whose value is null (merge-patch rules).
ALTER TABLE deviations ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
UPDATE deviations SET details = json_patch('{}', json_object(
    'immediate_actions', immediate_actions,
    'suggested_improvement', suggested_improvement,
    'agreement_reference', agreement_reference))
WHERE immediate_actions IS NOT NULL OR suggested_improvement IS NOT NULL OR agreement_reference IS NOT NULL;
ALTER TABLE deviations DROP COLUMN immediate_actions;
ALTER TABLE deviations DROP COLUMN suggested_improvement;
ALTER TABLE deviations DROP COLUMN agreement_reference;
