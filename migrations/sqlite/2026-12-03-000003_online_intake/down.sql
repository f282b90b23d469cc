-- Back to six statuses. Lossy on purpose: the older code must read every row it keeps, so a
-- stopped dossier becomes withdrawn, a wait for payment a wait for a supplement, the new control-slip
-- actions their nearest older ones, dossiers never received are removed, and the report's counters
-- are rebuilt on the next statistics request.
UPDATE dossiers SET status = 'withdrawn', withdrawn_at = stopped_at WHERE status = 'stopped';
UPDATE dossiers SET status = 'awaiting_supplement' WHERE status = 'awaiting_payment';
UPDATE dossier_events SET status_after = 'withdrawn' WHERE status_after IN ('stopped', 'declined');
UPDATE dossier_events SET status_after = 'awaiting_supplement' WHERE status_after = 'awaiting_payment';
UPDATE dossier_events SET status_after = 'received' WHERE status_after = 'submitted';
UPDATE dossier_events SET action = 'receive' WHERE action IN ('submit', 'accept');
UPDATE dossier_events SET action = 'withdraw' WHERE action IN ('stop', 'decline');
UPDATE dossier_events SET action = 'request_supplement' WHERE action = 'request_payment';
UPDATE dossier_events SET action = 'supplement_received' WHERE action = 'payment_received';
UPDATE stats_state SET counters_built = FALSE;
ALTER TABLE stats_counters DROP COLUMN paid_online;
ALTER TABLE stats_counters DROP COLUMN awaiting_payment;
ALTER TABLE stats_counters DROP COLUMN stopped;
ALTER TABLE stats_counters DROP COLUMN declined;
ALTER TABLE procedure_versions DROP COLUMN online_level;
ALTER TABLE procedure_versions DROP COLUMN fees;
ALTER TABLE procedure_versions DROP COLUMN national_code;
DROP TABLE dossier_payments;
ALTER TABLE dossier_pauses DROP COLUMN kind;
DROP INDEX dossiers_stopped;
DROP INDEX dossiers_declined;
ALTER TABLE dossiers DROP COLUMN stopped_at;
ALTER TABLE dossiers DROP COLUMN declined_at;
ALTER TABLE dossiers DROP COLUMN submitted_at;
-- Dossiers that never got a receipt cannot be kept without one.
DELETE FROM dossier_agencies WHERE dossier_id IN (SELECT id FROM dossiers WHERE received_at IS NULL);
DELETE FROM dossier_changes WHERE dossier_id IN (SELECT id FROM dossiers WHERE received_at IS NULL);
DELETE FROM dossier_pauses WHERE dossier_id IN (SELECT id FROM dossiers WHERE received_at IS NULL);
DELETE FROM webhook_deliveries WHERE event_id IN (
    SELECT e.id FROM outbox_events e JOIN dossiers d ON d.id = e.dossier_id WHERE d.received_at IS NULL);
DELETE FROM outbox_events WHERE dossier_id IN (SELECT id FROM dossiers WHERE received_at IS NULL);
DELETE FROM dossier_deadline_notices WHERE dossier_id IN (SELECT id FROM dossiers WHERE received_at IS NULL);
DELETE FROM dossier_events WHERE dossier_id IN (SELECT id FROM dossiers WHERE received_at IS NULL);
DELETE FROM dossiers WHERE received_at IS NULL;
DROP INDEX dossiers_status_due;
DROP INDEX dossiers_received;
ALTER TABLE dossiers ADD COLUMN received_at_required TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
ALTER TABLE dossiers ADD COLUMN due_at_required TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
ALTER TABLE dossiers ADD COLUMN due_explanation_required TEXT NOT NULL DEFAULT '{}';
UPDATE dossiers SET received_at_required = received_at, due_at_required = due_at,
    due_explanation_required = due_explanation;
ALTER TABLE dossiers DROP COLUMN received_at;
ALTER TABLE dossiers DROP COLUMN due_at;
ALTER TABLE dossiers DROP COLUMN due_explanation;
ALTER TABLE dossiers RENAME COLUMN received_at_required TO received_at;
ALTER TABLE dossiers RENAME COLUMN due_at_required TO due_at;
ALTER TABLE dossiers RENAME COLUMN due_explanation_required TO due_explanation;
CREATE INDEX dossiers_status_due ON dossiers (status, due_at);
CREATE INDEX dossiers_received ON dossiers (received_at);
