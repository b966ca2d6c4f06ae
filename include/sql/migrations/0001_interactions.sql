-- Queue data: interactions, AHT per 15-minute interval, quarantined rows and the run log.
-- {schema} is replaced by the validated, quoted warehouse schema name.

CREATE TABLE IF NOT EXISTS {schema}.raw_report_pages (
    integration text        NOT NULL,
    report_kind text        NOT NULL,
    report_id   bigint      NOT NULL,
    page_index  integer     NOT NULL,
    row_count   integer     NOT NULL,
    body        jsonb       NOT NULL,
    fetched_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration, report_id, page_index)
);

CREATE TABLE IF NOT EXISTS {schema}.stg_interactions (
    integration    text        NOT NULL,
    report_id      bigint      NOT NULL,
    interaction_id text        NOT NULL,
    queue_id       text,
    queue_name     text        NOT NULL,
    channel        text        NOT NULL,
    media_type     text        NOT NULL,
    direction      text        NOT NULL,
    queue_time     timestamptz NOT NULL,
    interval_start timestamptz NOT NULL,
    handled        boolean     NOT NULL,
    handling_ms    bigint,
    created_time   timestamptz,
    finished_time  timestamptz,
    PRIMARY KEY (integration, report_id, interaction_id)
);

CREATE TABLE IF NOT EXISTS {schema}.stg_rejected_rows (
    integration    text        NOT NULL,
    report_id      bigint      NOT NULL,
    row_hash       text        NOT NULL,
    reason         text        NOT NULL,
    raw            jsonb       NOT NULL,
    record_id      text,
    record_time    timestamptz,
    PRIMARY KEY (integration, report_id, row_hash)
);

CREATE TABLE IF NOT EXISTS {schema}.interactions (
    integration    text        NOT NULL,
    interaction_id text        NOT NULL,
    queue_id       text,
    queue_name     text        NOT NULL,
    channel        text        NOT NULL CHECK (channel IN ('call', 'chat', 'email')),
    media_type     text        NOT NULL,
    direction      text        NOT NULL,
    queue_time     timestamptz NOT NULL,
    interval_start timestamptz NOT NULL,
    handled        boolean     NOT NULL,
    handling_ms    bigint      CHECK (handling_ms IS NULL OR handling_ms >= 0),
    created_time   timestamptz,
    finished_time  timestamptz,
    report_id      bigint      NOT NULL,
    loaded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration, interaction_id),
    CHECK (interval_start = date_bin('15 minutes', queue_time, TIMESTAMPTZ '2000-01-01 00:00:00+00'))
);
CREATE INDEX IF NOT EXISTS interactions_interval_idx ON {schema}.interactions (integration, interval_start);

CREATE TABLE IF NOT EXISTS {schema}.interval_aht (
    integration     text          NOT NULL,
    interval_start  timestamptz   NOT NULL,
    queue_name      text          NOT NULL,
    channel         text          NOT NULL,
    handled_count   integer       NOT NULL CHECK (handled_count > 0),
    handling_ms_sum bigint        NOT NULL,
    aht_seconds     numeric(14,3) NOT NULL,
    PRIMARY KEY (integration, interval_start, queue_name, channel)
);

CREATE TABLE IF NOT EXISTS {schema}.rejected_rows (
    integration    text        NOT NULL,
    source         text        NOT NULL,
    row_hash       text        NOT NULL,
    reason         text        NOT NULL,
    raw            jsonb       NOT NULL,
    record_id      text,
    record_time    timestamptz,
    interval_start timestamptz NOT NULL,
    report_id      bigint,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration, source, row_hash)
);
CREATE INDEX IF NOT EXISTS rejected_rows_interval_idx ON {schema}.rejected_rows (integration, interval_start);

CREATE TABLE IF NOT EXISTS {schema}.load_runs (
    id             bigserial   PRIMARY KEY,
    integration    text        NOT NULL,
    dag_id         text        NOT NULL,
    run_id         text        NOT NULL,
    step           text        NOT NULL,
    try_number     integer     NOT NULL,
    interval_start timestamptz NOT NULL,
    interval_end   timestamptz NOT NULL,
    report_id      bigint,
    rows_fetched   integer,
    rows_loaded    integer,
    rows_rejected  integer,
    api_requests   integer,
    duration_ms    integer     NOT NULL,
    status         text        NOT NULL CHECK (status IN ('success', 'failed')),
    error          text,
    details        jsonb       NOT NULL DEFAULT '{{}}'::jsonb,
    finished_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS load_runs_interval_idx ON {schema}.load_runs (integration, interval_start);
