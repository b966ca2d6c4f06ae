-- Publish one report's staged status events as statuses. Keyed by (integration, agent, start):
-- re-reads, clears, backfills and concurrent runs converge on one row per status change.
-- As for interactions (interactions/load.sql): unchanged rows are left out before the upsert, so
-- a re-read writes nothing, and a row written from a report created later is never overwritten.
-- End times and their provisional flag are settled by load.relink.sql.
INSERT INTO {schema}.agent_status_history AS t (
    integration, agent_id, agent_name, status, status_code, status_name, start_time, end_time,
    observed_offset_minutes, report_id, report_created_at, loaded_at
)
SELECT s.integration, s.agent_id, s.agent_name, s.status, s.status_code, s.status_name, s.start_time,
       s.next_start, s.observed_offset_minutes, s.report_id, %(report_created_at)s, now()
FROM (
    -- The end the report itself shows (the agent's next event in it), so that most statuses are
    -- written once, final; load.relink.sql corrects the rest from the whole stored log.
    SELECT e.*, lead(e.start_time) OVER (PARTITION BY e.agent_id ORDER BY e.start_time) AS next_start
    FROM {schema}.stg_status_events e
    WHERE e.integration = %(integration)s AND e.report_id = %(report_id)s
) s
WHERE NOT EXISTS (
      SELECT 1 FROM {schema}.agent_status_history p
      WHERE p.integration = s.integration AND p.agent_id = s.agent_id AND p.start_time = s.start_time
        AND (p.report_created_at > %(report_created_at)s
             OR (p.agent_name, p.status, p.status_code, p.status_name, p.observed_offset_minutes)
                IS NOT DISTINCT FROM
                (s.agent_name, s.status, s.status_code, s.status_name, s.observed_offset_minutes)))
ORDER BY s.agent_id, s.start_time
ON CONFLICT (integration, agent_id, start_time) DO UPDATE SET
    agent_name              = EXCLUDED.agent_name,
    status                  = EXCLUDED.status,
    status_code             = EXCLUDED.status_code,
    status_name             = EXCLUDED.status_name,
    observed_offset_minutes = EXCLUDED.observed_offset_minutes,
    report_id               = EXCLUDED.report_id,
    report_created_at       = EXCLUDED.report_created_at,
    loaded_at               = EXCLUDED.loaded_at
WHERE (t.report_created_at IS NULL OR t.report_created_at <= EXCLUDED.report_created_at)
  AND (t.agent_name, t.status, t.status_code, t.status_name, t.observed_offset_minutes)
      IS DISTINCT FROM
      (EXCLUDED.agent_name, EXCLUDED.status, EXCLUDED.status_code, EXCLUDED.status_name,
       EXCLUDED.observed_offset_minutes)
