-- The push sync to the national portal (Cổng DVCQG): one row per dossier to send. The worker's
-- fan-out of the outbox raises `pending_event` to the dossier's latest event; a send that succeeds
-- records the event it covered, so a dossier changed while it was being sent is sent again, and a
-- dossier is never sent by two instances at once (the lease).
CREATE TABLE national_sync (
    dossier_id BIGINT PRIMARY KEY REFERENCES dossiers (id),
    pending_event BIGINT NOT NULL,
    synced_event BIGINT NOT NULL DEFAULT 0,
    -- The portal knows the dossier: later sends are updates.
    on_portal BOOLEAN NOT NULL DEFAULT FALSE,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    leased_until TIMESTAMP,
    -- Retries exhausted; the next change of the dossier starts over.
    failed BOOLEAN NOT NULL DEFAULT FALSE,
    last_error TEXT,
    last_attempt_at TIMESTAMP,
    synced_at TIMESTAMP
);
CREATE INDEX national_sync_due ON national_sync (next_attempt_at);

-- Every dossier that exists is due for its first send once a push is configured.
INSERT INTO national_sync (dossier_id, pending_event, next_attempt_at)
SELECT id, 1, now() AT TIME ZONE 'UTC' FROM dossiers;
