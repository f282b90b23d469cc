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

-- The default office hours: Monday–Friday 07:30–11:30 and 13:00–17:00 (UTC+7).
INSERT INTO calendar_settings (id, office_hours, revision, updated_at)
VALUES (1, '{"monday":[{"start":"07:30:00","end":"11:30:00"},{"start":"13:00:00","end":"17:00:00"}],"tuesday":[{"start":"07:30:00","end":"11:30:00"},{"start":"13:00:00","end":"17:00:00"}],"wednesday":[{"start":"07:30:00","end":"11:30:00"},{"start":"13:00:00","end":"17:00:00"}],"thursday":[{"start":"07:30:00","end":"11:30:00"},{"start":"13:00:00","end":"17:00:00"}],"friday":[{"start":"07:30:00","end":"11:30:00"},{"start":"13:00:00","end":"17:00:00"}],"saturday":[],"sunday":[]}', 1, CURRENT_TIMESTAMP);
