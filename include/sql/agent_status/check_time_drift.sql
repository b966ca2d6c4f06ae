-- The staged events of a report as 8x8 returned them: what the drift checks validate.
SELECT agent_id, status, start_time, observed_offset_minutes FROM {schema}.stg_status_events
WHERE integration = %(integration)s AND report_id = %(report_id)s
ORDER BY start_time, agent_id
