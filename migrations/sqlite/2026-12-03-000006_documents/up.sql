-- The papers of a dossier and its result, digitized (số hóa). A row is a record: it is never
-- updated or deleted. Its file is written to the document storage before the row commits, so a
-- crash leaves at worst an object without a row (`motcua storage check` lists and removes those).
CREATE TABLE dossier_documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
    -- submitted | supplement | result
    kind TEXT NOT NULL,
    -- The procedure's component (thành phần hồ sơ) it stands for, if any.
    component_code TEXT,
    file_name TEXT NOT NULL,
    -- Judged from the content, not from what the client said.
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    -- Where the bytes are in the document storage.
    storage_key TEXT NOT NULL UNIQUE,
    -- Taken from an earlier dossier of the same applicant (tái sử dụng).
    reused BOOLEAN NOT NULL DEFAULT FALSE,
    uploaded_at TIMESTAMP NOT NULL,
    uploaded_by TEXT NOT NULL
);
CREATE INDEX dossier_documents_dossier ON dossier_documents (dossier_id, id);

-- The procedure's components (thành phần hồ sơ) as JSON [{"code", "name", "required"}].
ALTER TABLE procedure_versions ADD COLUMN components TEXT NOT NULL DEFAULT '[]';

-- Whether the dossier holds a file for its components and, once resolved, one of its result; kept
-- by every upload and resolution, for the report's `digitized` column and the list filter.
ALTER TABLE dossiers ADD COLUMN digitized BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX dossiers_digitized ON dossiers (digitized, received_at);

-- No dossier held a document before: zero is right for every existing row.
ALTER TABLE stats_counters ADD COLUMN digitized BIGINT NOT NULL DEFAULT 0;
