-- One batch of data-quality results last checked longer ago than the retention (a re-check
-- refreshes checked_at, so a result that is still being re-validated stays).
DELETE FROM {schema}.dq_results
WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM {schema}.dq_results
    WHERE checked_at < coalesce(%(now)s::timestamptz, now()) - %(retention)s::interval
    LIMIT %(batch_rows)s
))
