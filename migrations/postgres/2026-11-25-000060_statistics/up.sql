-- Statistics (issue 6): time used per resolved dossier, and the report's pre-aggregated counters.

-- Filled in the transaction of `resolve`: working minutes from receipt (or the last restart of the
-- clock) to resolution with paused time excluded, and the statutory limit in working minutes.
ALTER TABLE dossiers ADD COLUMN working_minutes_used BIGINT;
ALTER TABLE dossiers ADD COLUMN limit_minutes BIGINT;
CREATE INDEX dossiers_withdrawn ON dossiers (withdrawn_at);
CREATE INDEX dossier_pauses_started ON dossier_pauses (dossier_id, started_at);

-- Per local day (grain 'day') and per local month (grain 'month', day = the 1st) and per procedure,
-- lead unit, field and channel: the deltas of the report's prefix sums (see src/domain/stats.rs).
-- Changed only together with the dossiers, in the same transaction.
CREATE TABLE stats_counters (
    grain TEXT NOT NULL CHECK (grain IN ('day', 'month')),
    day DATE NOT NULL,
    unit_code TEXT NOT NULL,
    procedure_code TEXT NOT NULL,
    field TEXT NOT NULL,
    channel TEXT NOT NULL,
    received BIGINT NOT NULL DEFAULT 0,
    resolved_early BIGINT NOT NULL DEFAULT 0,
    resolved_on_time BIGINT NOT NULL DEFAULT 0,
    resolved_late BIGINT NOT NULL DEFAULT 0,
    refused BIGINT NOT NULL DEFAULT 0,
    withdrawn BIGINT NOT NULL DEFAULT 0,
    timed BIGINT NOT NULL DEFAULT 0,
    used_minutes BIGINT NOT NULL DEFAULT 0,
    limit_minutes BIGINT NOT NULL DEFAULT 0,
    awaiting BIGINT NOT NULL DEFAULT 0,
    overdue BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, day, unit_code, procedure_code, field, channel)
);

-- Whether stats_counters holds every dossier. A database that had dossiers before this migration
-- starts with `false`; the first statistics request then rebuilds the counters from the dossiers.
CREATE TABLE stats_state (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    counters_built BOOLEAN NOT NULL
);
INSERT INTO stats_state (id, counters_built) SELECT 1, NOT EXISTS (SELECT 1 FROM dossiers);
