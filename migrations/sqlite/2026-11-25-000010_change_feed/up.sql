-- The change feed (GET /api/v1/dossiers?updated_since=…): one row per dossier change, written in the
-- transaction of the change. SQLite has a single writer, so `seq` order is commit order and `txid`
-- stays 0 (PostgreSQL stores the writing transaction's id there).
CREATE TABLE dossier_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    txid BIGINT NOT NULL DEFAULT 0,
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
SELECT 0, id, version, updated_at FROM dossiers ORDER BY updated_at, id;
