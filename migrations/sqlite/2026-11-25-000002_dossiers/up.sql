-- Units, the procedure catalogue (versioned), dossiers with their control slip and pauses,
-- idempotency keys and the audit log.

CREATE TABLE units (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent_code TEXT REFERENCES units (code),
    agency_code TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE procedures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    latest_version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Every PUT of a procedure adds a version; dossiers keep the version they were received under.
CREATE TABLE procedure_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    procedure_code TEXT NOT NULL REFERENCES procedures (code),
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    field TEXT NOT NULL,
    unit_code TEXT NOT NULL REFERENCES units (code),
    time_limit_amount INTEGER NOT NULL,
    time_limit_unit TEXT NOT NULL,
    supplement_policy TEXT NOT NULL,
    steps TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (procedure_code, version)
);

-- Gap-free dossier numbers per agency and local day: the row is locked by the receipt's
-- transaction, so a rolled-back receipt gives its number back.
CREATE TABLE dossier_sequences (
    agency_code TEXT NOT NULL,
    day DATE NOT NULL,
    last_value INTEGER NOT NULL,
    PRIMARY KEY (agency_code, day)
);

CREATE TABLE dossiers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    agency_code TEXT NOT NULL,
    procedure_code TEXT NOT NULL,
    procedure_version INTEGER NOT NULL,
    unit_code TEXT NOT NULL,
    field TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    applicant_name TEXT NOT NULL,
    -- The applicant's other particulars (id number, organisation, contact) as JSON.
    applicant TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    due_at TIMESTAMP NOT NULL,
    -- How due_at was computed (limit, pauses, calendar revision), so old reports never drift.
    due_explanation TEXT NOT NULL,
    current_step INTEGER,
    current_unit_code TEXT,
    current_step_started_at TIMESTAMP,
    current_step_due_at TIMESTAMP,
    paused_since TIMESTAMP,
    resolved_at TIMESTAMP,
    result TEXT,
    outcome TEXT,
    returned_at TIMESTAMP,
    withdrawn_at TIMESTAMP,
    apology_due_at TIMESTAMP,
    external_ref TEXT UNIQUE,
    lookup_secret_hash TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_by_client TEXT,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX dossiers_status_due ON dossiers (status, due_at);
CREATE INDEX dossiers_received ON dossiers (received_at);
CREATE INDEX dossiers_resolved ON dossiers (resolved_at);
CREATE INDEX dossiers_updated ON dossiers (updated_at, id);
CREATE INDEX dossiers_procedure ON dossiers (procedure_code);
CREATE INDEX dossiers_unit ON dossiers (unit_code);
CREATE INDEX dossiers_current_unit ON dossiers (current_unit_code);
CREATE INDEX dossiers_created_by_client ON dossiers (created_by_client);

-- The control slip (phiếu kiểm soát quá trình giải quyết hồ sơ): one row per action, append-only.
CREATE TABLE dossier_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
    seq INTEGER NOT NULL,
    action TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    status_after TEXT NOT NULL,
    step INTEGER,
    step_name TEXT,
    unit_code TEXT,
    from_user TEXT NOT NULL,
    to_user TEXT,
    to_unit_code TEXT,
    to_step INTEGER,
    step_due_at TIMESTAMP,
    step_outcome TEXT,
    note TEXT,
    details TEXT,
    UNIQUE (dossier_id, seq)
);

-- Requests for supplement (phiếu yêu cầu bổ sung): the clock stops from started_at to ended_at.
CREATE TABLE dossier_pauses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    reason TEXT NOT NULL,
    documents TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    resumed_by TEXT
);
CREATE INDEX dossier_pauses_dossier ON dossier_pauses (dossier_id);

CREATE TABLE idempotency_keys (
    principal TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    location TEXT,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (principal, idempotency_key)
);

-- Append-only record of every change, read by admins and auditors.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    client_id TEXT,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    changes TEXT NOT NULL,
    reason TEXT,
    request_id TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id);
