-- The change feed (GET /api/v1/dossiers?updated_since=…): one row per dossier change, written in the
-- transaction of the change. A reader orders rows by (txid, seq) and returns only rows whose writing
-- transaction ended before the oldest transaction still running (the snapshot's xmin), so a change
-- that commits after a later-numbered one is never skipped.
CREATE TABLE dossier_changes (
    seq BIGSERIAL PRIMARY KEY,
    -- pg_current_xact_id() of the writing transaction.
    txid BIGINT NOT NULL,
    dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
    -- The dossier's version after the change: the row whose version is the dossier's current one is
    -- its latest change.
    version INTEGER NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
CREATE INDEX dossier_changes_position ON dossier_changes (txid, seq);
CREATE INDEX dossier_changes_dossier ON dossier_changes (dossier_id, version);

-- Dossiers received before the feed existed enter it at their current version.
INSERT INTO dossier_changes (txid, dossier_id, version, changed_at)
SELECT pg_current_xact_id()::text::bigint, id, version, updated_at FROM dossiers ORDER BY updated_at, id;
