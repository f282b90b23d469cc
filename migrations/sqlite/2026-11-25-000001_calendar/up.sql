-- Working-time calendar: administrator overrides of single dates and the office hours.
-- `revision` increases on every change so that every instance knows when to rebuild its cache.
CREATE TABLE calendar_settings (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    office_hours TEXT NOT NULL,
    revision BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE calendar_overrides (
    day DATE PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'working')),
    name TEXT,
    updated_at TIMESTAMP NOT NULL
);
