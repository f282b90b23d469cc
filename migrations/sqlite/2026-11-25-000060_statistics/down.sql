DROP TABLE stats_state;
DROP TABLE stats_counters;
DROP INDEX dossier_pauses_started;
DROP INDEX dossiers_withdrawn;
ALTER TABLE dossiers DROP COLUMN limit_minutes;
ALTER TABLE dossiers DROP COLUMN working_minutes_used;
