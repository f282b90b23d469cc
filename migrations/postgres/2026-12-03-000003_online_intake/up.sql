-- Online intake, the national status model, fees and stop (Cổng DVCQG's ten status codes).

-- A dossier submitted online waits for the one-stop officer's intake check: it has no receipt
-- instant, due instant or due computation until accepted, and never gets them when declined.
ALTER TABLE dossiers ALTER COLUMN received_at DROP NOT NULL;
ALTER TABLE dossiers ALTER COLUMN due_at DROP NOT NULL;
ALTER TABLE dossiers ALTER COLUMN due_explanation DROP NOT NULL;

-- When the e-portal submitted it (NgayNopHoSo), and the two new final statuses' instants.
ALTER TABLE dossiers ADD COLUMN submitted_at TIMESTAMP;
ALTER TABLE dossiers ADD COLUMN declined_at TIMESTAMP;
ALTER TABLE dossiers ADD COLUMN stopped_at TIMESTAMP;
CREATE INDEX dossiers_declined ON dossiers (declined_at);
CREATE INDEX dossiers_stopped ON dossiers (stopped_at);

-- The clock stops for a supplement or for a payment.
ALTER TABLE dossier_pauses ADD COLUMN kind TEXT NOT NULL DEFAULT 'supplement';

-- Requests for payment (fees, phí và lệ phí) and the payments that answer them.
CREATE TABLE dossier_payments (
    id BIGSERIAL PRIMARY KEY,
    dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
    requested_amount BIGINT NOT NULL,
    reason TEXT NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    requested_by TEXT NOT NULL,
    -- The status the dossier returns to once paid.
    status_before TEXT NOT NULL,
    amount BIGINT,
    method TEXT,
    receipt_no TEXT,
    paid_at TIMESTAMP,
    received_by TEXT,
    -- The dossier ended (withdrawn, stopped) while the payment was awaited.
    cancelled_at TIMESTAMP
);
CREATE INDEX dossier_payments_dossier ON dossier_payments (dossier_id, requested_at);
CREATE INDEX dossier_payments_paid ON dossier_payments (method, paid_at);

-- The procedure's national code (mã TTHC), fees as JSON [{"name", "amount"}] and online level.
ALTER TABLE procedure_versions ADD COLUMN national_code TEXT;
ALTER TABLE procedure_versions ADD COLUMN fees TEXT NOT NULL DEFAULT '[]';
ALTER TABLE procedure_versions ADD COLUMN online_level TEXT NOT NULL DEFAULT 'none';

-- The report's new columns (declined, stopped, awaiting payment, paid online). No dossier could
-- have them before, so zero is right for every existing row.
ALTER TABLE stats_counters ADD COLUMN declined BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stats_counters ADD COLUMN stopped BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stats_counters ADD COLUMN awaiting_payment BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stats_counters ADD COLUMN paid_online BIGINT NOT NULL DEFAULT 0;
