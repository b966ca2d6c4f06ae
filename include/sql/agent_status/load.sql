-- Publish one report's staged status events as statuses. Keyed by (integration, agent, start):
-- re-reads, clears, backfills and concurrent runs converge on one row per status change. A row
-- is rewritten only when its content changed; end times are linked by load.relink.sql.
INSERT INTO {schema}.agent_status_history AS t (
    integration, agent_id, agent_name, status, status_code, status_name, start_time, end_time,
    observed_offset_minutes, report_id, loaded_at
)
SELECT integration, agent_id, agent_name, status, status_code, status_name, start_time, NULL,
       observed_offset_minutes, report_id, now()
FROM {schema}.stg_status_events
WHERE integration = %(integration)s AND report_id = %(report_id)s
ON CONFLICT (integration, agent_id, start_time) DO UPDATE SET
    agent_name              = EXCLUDED.agent_name,
    status                  = EXCLUDED.status,
    status_code             = EXCLUDED.status_code,
    status_name             = EXCLUDED.status_name,
    observed_offset_minutes = EXCLUDED.observed_offset_minutes,
    report_id               = EXCLUDED.report_id,
    loaded_at               = EXCLUDED.loaded_at
WHERE (t.agent_name, t.status, t.status_code, t.status_name, t.observed_offset_minutes)
      IS DISTINCT FROM
      (EXCLUDED.agent_name, EXCLUDED.status, EXCLUDED.status_code, EXCLUDED.status_name,
       EXCLUDED.observed_offset_minutes)
