-- One batch of observed live-status changes older than the retention; the current live state
-- (agent_status_live) is never pruned.
DELETE FROM {schema}.agent_status_live_log
WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM {schema}.agent_status_live_log
    WHERE observed_at < coalesce(%(now)s::timestamptz, now()) - %(retention)s::interval
    LIMIT %(batch_rows)s
))
