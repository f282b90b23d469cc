-- The SQL behind POST /api/v1/dossiers/{code}/actions (an apology): the account check, then one
-- transaction that locks the dossier, reads what the state machine needs, updates the dossier,
-- appends the control-slip entry and the audit entry, and reads the result back.
\set id random(1, :n)
SELECT active FROM users WHERE username = 'admin';
BEGIN;
SELECT * FROM dossiers WHERE id = :id FOR UPDATE;
SELECT * FROM procedure_versions WHERE procedure_code = 'QT-SCT-QLTM-01' AND version = 1;
SELECT revision FROM calendar_settings WHERE id = 1;
SELECT * FROM dossier_pauses WHERE dossier_id = :id ORDER BY started_at;
SELECT at FROM dossier_events WHERE dossier_id = :id ORDER BY seq DESC LIMIT 1;
UPDATE dossiers SET version = version + 1, apology_due_at = '2099-01-01 00:00:00', updated_at = now() WHERE id = :id;
INSERT INTO dossier_events (dossier_id, seq, action, at, status_after, step, step_name, unit_code, from_user, details)
  SELECT :id, version, 'apologize', now(), 'processing', 0, 'Tiếp nhận', 'MC', 'admin', '{"reason":"load test"}' FROM dossiers WHERE id = :id;
INSERT INTO audit_log (at, actor, actor_role, action, entity_type, entity_id, changes)
  VALUES (now(), 'admin', 'admin', 'dossier.apologize', 'dossier', :id::text, '{"version":0}');
COMMIT;
SELECT * FROM dossiers WHERE id = :id;
