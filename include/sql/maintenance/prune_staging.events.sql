-- One batch of staged agent-status events older than the staging retention.
DELETE FROM {schema}.stg_status_events
WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM {schema}.stg_status_events
    WHERE staged_at < coalesce(%(now)s::timestamptz, now()) - %(retention)s::interval
    LIMIT %(batch_rows)s
))
