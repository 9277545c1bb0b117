DROP INDEX deviations_resolved;
DROP INDEX deviations_stats;
ALTER TABLE deviations DROP COLUMN health_community_id;
DROP INDEX organisations_health_community;
ALTER TABLE organisations DROP COLUMN health_community_id;
DROP TABLE health_communities;
