ALTER TABLE stats_counters DROP COLUMN digitized;
DROP INDEX dossiers_digitized;
ALTER TABLE dossiers DROP COLUMN digitized;
ALTER TABLE procedure_versions DROP COLUMN components;
DROP TABLE dossier_documents;
