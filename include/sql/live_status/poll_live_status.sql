-- One realtime /agents snapshot of an integration into the live tables, in one statement.
--
-- Parameters: integration, observed_at (the warehouse's clock at the poll), jitter (interval) and one
-- array per column (agent_id .. end_time), all of the same length, agent ids unique.
--
-- A row is a *change* when the agent has no current row, its status name differs, or its start
-- moved by more than the jitter: 8x8 computes loggedInTime and timeOnStatus a few ms apart, so the
-- same status can come back with a start a little off; then the start first observed is kept.
-- Changes replace the current row and are appended to the log. Other content differences (the
-- agent's name, the case of the status, the reason code of a LoggedOut) update the current row in
-- place without a log row. A snapshot older than the stored row (a slower, superseded poller) is
-- ignored for that agent, so the current row never moves back in time.
WITH snapshot AS (
    SELECT s.*
    FROM unnest(
        %(agent_id)s::text[],
        %(agent_name)s::text[],
        %(status)s::text[],
        %(status_code)s::text[],
        %(status_name)s::text[],
        %(start_time)s::timestamptz[],
        %(end_time)s::timestamptz[]
    ) AS s (agent_id, agent_name, status, status_code, status_name, start_time, end_time)
),
judged AS (
    SELECT
        s.*,
        (
            c.agent_id IS NULL
            OR c.status_name <> s.status_name
            OR s.start_time < c.start_time - %(jitter)s::interval
            OR s.start_time > c.start_time + %(jitter)s::interval
        ) AS is_change,
        (c.agent_name, c.status, c.status_code)
            IS DISTINCT FROM (s.agent_name, s.status, s.status_code) AS is_touch
    FROM snapshot AS s
    LEFT JOIN {schema}.agent_status_live AS c
        ON c.integration = %(integration)s AND c.agent_id = s.agent_id
    WHERE
        c.agent_id IS NULL
        OR c.observed_at <= %(observed_at)s
        -- A stored time after the warehouse's now was stamped by a worker's clock that ran ahead
        -- (before snapshots took the warehouse's time); it must not hold the agent's row back.
        OR c.observed_at > clock_timestamp()
),
changed AS (
    INSERT INTO {schema}.agent_status_live AS c (
        integration, agent_id, agent_name, status, status_code, status_name, start_time, end_time,
        observed_at
    )
    SELECT
        %(integration)s, agent_id, agent_name, status, status_code, status_name, start_time, end_time,
        %(observed_at)s
    FROM judged
    WHERE is_change
    ON CONFLICT (integration, agent_id) DO UPDATE SET
        agent_name = excluded.agent_name,
        status = excluded.status,
        status_code = excluded.status_code,
        status_name = excluded.status_name,
        start_time = excluded.start_time,
        end_time = excluded.end_time,
        observed_at = excluded.observed_at
    RETURNING c.agent_id
),
touched AS (
    UPDATE {schema}.agent_status_live AS c SET
        agent_name = j.agent_name,
        status = j.status,
        status_code = j.status_code
    FROM judged AS j
    WHERE
        j.is_touch
        AND NOT j.is_change
        AND c.integration = %(integration)s
        AND c.agent_id = j.agent_id
    RETURNING c.agent_id
),
logged AS (
    INSERT INTO {schema}.agent_status_live_log (
        integration, agent_id, agent_name, status, status_code, status_name, start_time, end_time,
        observed_at
    )
    SELECT
        %(integration)s, agent_id, agent_name, status, status_code, status_name, start_time, end_time,
        %(observed_at)s
    FROM judged
    WHERE is_change
    ON CONFLICT DO NOTHING
    RETURNING agent_id
)
SELECT
    (SELECT count(*) FROM snapshot) AS agents,
    (SELECT count(*) FROM changed) AS changed,
    (SELECT count(*) FROM touched) AS touched,
    (SELECT count(*) FROM logged) AS logged
