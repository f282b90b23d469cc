-- Holiday rules added by administrators (the built-in ones live in the code): `days` consecutive
-- days from `day`/`month` of the solar or lunar calendar, in the years `from_year..=to_year`
-- (lunar years for a lunar rule; `to_year` NULL: open-ended). A change bumps
-- calendar_settings.revision like an override.
CREATE TABLE calendar_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    calendar TEXT NOT NULL CHECK (calendar IN ('solar', 'lunar')),
    month INTEGER NOT NULL CHECK (month BETWEEN 1 AND 12),
    day INTEGER NOT NULL CHECK (day BETWEEN 1 AND 31),
    days INTEGER NOT NULL CHECK (days >= 1),
    from_year INTEGER NOT NULL,
    to_year INTEGER CHECK (to_year >= from_year),
    created_at TIMESTAMP NOT NULL
);
