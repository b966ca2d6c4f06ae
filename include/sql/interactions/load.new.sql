-- Publish one report's staged interactions when none of them is published yet (load.published.sql
-- counted none): the rows load.sql would write, without its key checks, which cost a first import
-- of the data more than half again the insert itself. The primary key still guards it: a
-- concurrent load that publishes one of these interactions first makes this insert fail, and the
-- load falls back to load.sql.
INSERT INTO {schema}.interactions (
    integration, interaction_id, queue_id, queue_name, channel, media_type, direction,
    queue_time, interval_start, handled, handling_ms, created_time, finished_time, report_id,
    report_created_at, loaded_at
)
SELECT s.integration, s.interaction_id, s.queue_id, s.queue_name, s.channel, s.media_type, s.direction,
       s.queue_time, s.interval_start, s.handled, s.handling_ms, s.created_time, s.finished_time,
       s.report_id, %(report_created_at)s, now()
FROM {schema}.stg_interactions s
WHERE s.integration = %(integration)s AND s.report_id = %(report_id)s
ORDER BY s.interaction_id
