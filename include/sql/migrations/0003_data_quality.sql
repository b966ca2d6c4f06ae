-- Data-quality results: one row per integration, 15-minute interval and check (time drift).
-- {schema} is replaced by the validated, quoted warehouse schema name; literal braces are doubled.
-- Re-running the checks of an interval overwrites its rows (upsert on the primary key).

CREATE TABLE IF NOT EXISTS {schema}.dq_results (
    integration             text        NOT NULL,
    interval_start          timestamptz NOT NULL,
    interval_end            timestamptz NOT NULL,
    check_name              text        NOT NULL CHECK (check_name <> ''),
    passed                  boolean     NOT NULL,
    -- window: tenant UTC offset the shift corresponds to; offset: offset 8x8 wrote;
    -- live_vs_history: live minus history. NULL when no drift was detected.
    observed_offset_minutes integer,
    details                 jsonb       NOT NULL DEFAULT '{{}}'::jsonb,
    checked_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration, interval_start, check_name),
    CHECK (interval_end > interval_start)
);

-- "Which intervals drifted?" reads only the failures.
CREATE INDEX IF NOT EXISTS dq_results_failed_idx
    ON {schema}.dq_results (integration, interval_start) WHERE NOT passed;
