DROP TABLE dossier_deadline_notices;
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE outbox_events;
DROP TABLE webhooks;
