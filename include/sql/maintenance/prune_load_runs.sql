-- One batch of run-log rows older than the retention.
DELETE FROM {schema}.load_runs
WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM {schema}.load_runs
    WHERE finished_at < coalesce(%(now)s::timestamptz, now()) - %(retention)s::interval
    LIMIT %(batch_rows)s
))
