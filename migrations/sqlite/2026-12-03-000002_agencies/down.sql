DROP INDEX audit_log_agency;
ALTER TABLE audit_log DROP COLUMN agency_code;
ALTER TABLE webhooks DROP COLUMN agency_code;
ALTER TABLE clients DROP COLUMN agency_code;
ALTER TABLE procedure_versions DROP COLUMN receivable_anywhere;
DROP INDEX dossiers_agency;
DROP TABLE dossier_agencies;
DROP INDEX units_agency;
DROP TABLE agencies;
