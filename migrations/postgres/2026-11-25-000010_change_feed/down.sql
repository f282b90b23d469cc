DROP TABLE dossier_changes;
