-- Webhook subscriptions, the transactional outbox and the delivery log.

-- A subscription belongs to a machine client (owner_client_id; it then hears only of the dossiers that
-- client submitted) or, when created by an administrator without one, hears of every dossier.
CREATE TABLE webhooks (
    id BIGSERIAL PRIMARY KEY,
    owner_client_id TEXT,
    url TEXT NOT NULL,
    -- JSON array of event types, e.g. ["dossier.received", "dossier.resolved"].
    events TEXT NOT NULL,
    description TEXT,
    -- `whsec_` + base64 of the signing key; kept in clear because every delivery is signed with it.
    secret TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_owner ON webhooks (owner_client_id);

-- Events written in the same transaction as the dossier change they report; the delivery worker fans
-- each one out to the matching subscriptions and sets dispatched_at.
CREATE TABLE outbox_events (
    id BIGSERIAL PRIMARY KEY,
    -- The `webhook-id` header: the same on every attempt and redelivery.
    message_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
    dossier_code TEXT NOT NULL,
    created_by_client TEXT,
    -- The exact JSON body that is signed and sent.
    payload TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    dispatched_at TIMESTAMP
);
CREATE INDEX outbox_events_undispatched ON outbox_events (id) WHERE dispatched_at IS NULL;
CREATE INDEX outbox_events_dossier ON outbox_events (dossier_id, id);

-- One event for one subscription, with its retry state.
CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    webhook_id BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id BIGINT NOT NULL REFERENCES outbox_events (id),
    dossier_id BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    -- A manual redelivery: sent at once, outside the per-dossier order.
    manual BOOLEAN NOT NULL,
    redelivery_of BIGINT,
    attempts INTEGER NOT NULL,
    -- When a pending delivery may next be claimed; a claim moves it forward by the lease, so the
    -- delivery of an instance that died is taken over once the lease ends.
    next_attempt_at TIMESTAMP NOT NULL,
    last_status_code INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, dossier_id, event_id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

-- The delivery log: every attempt with its answer.
CREATE TABLE webhook_attempts (
    id BIGSERIAL PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status_code INTEGER,
    error TEXT,
    UNIQUE (delivery_id, attempt)
);

-- dossier.due_soon and dossier.overdue are emitted once per dossier: the row records that it was.
CREATE TABLE dossier_deadline_notices (
    dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
    kind TEXT NOT NULL CHECK (kind IN ('due_soon', 'overdue')),
    due_at TIMESTAMP NOT NULL,
    emitted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (dossier_id, kind)
);
