-- Agent statuses: historical intervals from the status-change report, the live state from the
-- realtime API and an append-only log of the live changes observed.

CREATE TABLE IF NOT EXISTS {schema}.stg_status_events (
    integration             text        NOT NULL,
    report_id               bigint      NOT NULL,
    agent_id                text        NOT NULL,
    agent_name              text,
    status                  text        NOT NULL,
    status_code             text,
    status_name             text        NOT NULL,
    start_time              timestamptz NOT NULL,
    observed_offset_minutes integer     NOT NULL,
    staged_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration, report_id, agent_id, start_time)
);

CREATE TABLE IF NOT EXISTS {schema}.agent_status_history (
    integration             text        NOT NULL,
    agent_id                text        NOT NULL,
    agent_name              text,
    status                  text        NOT NULL,
    status_code             text,
    status_name             text        NOT NULL,
    start_time              timestamptz NOT NULL,
    end_time                timestamptz,
    observed_offset_minutes integer     NOT NULL,
    report_id               bigint      NOT NULL,
    loaded_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration, agent_id, start_time),
    CHECK (end_time IS NULL OR end_time >= start_time)
);
CREATE INDEX IF NOT EXISTS agent_status_history_time_idx
    ON {schema}.agent_status_history (integration, start_time);

CREATE TABLE IF NOT EXISTS {schema}.agent_status_live (
    integration  text        NOT NULL,
    agent_id     text        NOT NULL,
    agent_name   text,
    status       text        NOT NULL,
    status_code  text,
    status_name  text        NOT NULL,
    start_time   timestamptz NOT NULL,
    end_time     timestamptz,
    observed_at  timestamptz NOT NULL,
    PRIMARY KEY (integration, agent_id)
);

CREATE TABLE IF NOT EXISTS {schema}.agent_status_live_log (
    integration  text        NOT NULL,
    agent_id     text        NOT NULL,
    agent_name   text,
    status       text        NOT NULL,
    status_code  text,
    status_name  text        NOT NULL,
    start_time   timestamptz NOT NULL,
    end_time     timestamptz,
    observed_at  timestamptz NOT NULL,
    PRIMARY KEY (integration, agent_id, start_time, status_name)
);
CREATE INDEX IF NOT EXISTS agent_status_live_log_time_idx
    ON {schema}.agent_status_live_log (integration, start_time);

-- Which live-status run is polling an integration: a new run takes over, the old one stops, so
-- consecutive runs hand over without a gap or an overlap.
CREATE TABLE IF NOT EXISTS {schema}.live_poll_owner (
    integration  text        PRIMARY KEY,
    run_id       text        NOT NULL,
    claimed_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL
);
