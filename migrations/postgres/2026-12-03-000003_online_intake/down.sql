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
ALTER TABLE dossiers ALTER COLUMN due_explanation SET NOT NULL;
ALTER TABLE dossiers ALTER COLUMN due_at SET NOT NULL;
ALTER TABLE dossiers ALTER COLUMN received_at SET NOT NULL;
