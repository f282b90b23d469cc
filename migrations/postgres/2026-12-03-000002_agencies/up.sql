-- Agencies (cơ quan): the tenants of a province-wide deployment. An agency's code is the prefix of
-- its dossier codes; a user's scope is the agency of their unit and its child agencies.
CREATE TABLE agencies (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent_code TEXT REFERENCES agencies (code),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX agencies_parent ON agencies (parent_code);

-- One agency per code already in use, named by its code until an administrator renames it; no
-- dossier is renumbered.
INSERT INTO agencies (code, name, parent_code, created_at, updated_at)
SELECT code, code, NULL, now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc'
FROM (SELECT agency_code AS code FROM units UNION SELECT agency_code FROM dossiers) existing
ORDER BY code;

ALTER TABLE units ADD CONSTRAINT units_agency_fk FOREIGN KEY (agency_code) REFERENCES agencies (code);
CREATE INDEX units_agency ON units (agency_code);

-- Which agencies may read a dossier: the one that owns it (its code's prefix) and every agency a
-- step was handed to (liên thông) or that received it at its counter (receipt anywhere).
CREATE TABLE dossier_agencies (
    dossier_id BIGINT NOT NULL REFERENCES dossiers (id) ON DELETE CASCADE,
    agency_code TEXT NOT NULL,
    PRIMARY KEY (dossier_id, agency_code)
);
CREATE INDEX dossier_agencies_by_agency ON dossier_agencies (agency_code, dossier_id);
INSERT INTO dossier_agencies (dossier_id, agency_code) SELECT id, agency_code FROM dossiers;
INSERT INTO dossier_agencies (dossier_id, agency_code)
SELECT DISTINCT e.dossier_id, u.agency_code
FROM dossier_events e JOIN units u ON u.code = e.to_unit_code WHERE TRUE
ON CONFLICT DO NOTHING;
CREATE INDEX dossiers_agency ON dossiers (agency_code);

-- Procedures any agency's reception may receive (thủ tục phi địa giới hành chính).
ALTER TABLE procedure_versions ADD COLUMN receivable_anywhere BOOLEAN NOT NULL DEFAULT FALSE;

-- Machine clients and webhook subscriptions belong to an agency (NULL: the whole deployment).
ALTER TABLE clients ADD COLUMN agency_code TEXT REFERENCES agencies (code);
ALTER TABLE webhooks ADD COLUMN agency_code TEXT REFERENCES agencies (code);

-- The agency an audit entry concerns (NULL: the deployment, e.g. the calendar).
ALTER TABLE audit_log ADD COLUMN agency_code TEXT;
UPDATE audit_log SET agency_code = (SELECT d.agency_code FROM dossiers d WHERE d.code = audit_log.entity_id)
WHERE entity_type = 'dossier';
UPDATE audit_log SET agency_code = (SELECT u.agency_code FROM units u WHERE u.code = audit_log.entity_id)
WHERE entity_type = 'unit';
UPDATE audit_log SET agency_code = (
    SELECT u.agency_code FROM procedures p
    JOIN procedure_versions v ON v.procedure_code = p.code AND v.version = p.latest_version
    JOIN units u ON u.code = v.unit_code
    WHERE p.code = audit_log.entity_id)
WHERE entity_type = 'procedure';
UPDATE audit_log SET agency_code = (
    SELECT u.agency_code FROM users a JOIN units u ON u.code = a.unit_code
    WHERE a.username = audit_log.entity_id)
WHERE entity_type = 'user';
CREATE INDEX audit_log_agency ON audit_log (agency_code, id);
