-- Intervals that published interactions are about to leave: a re-read can move an interaction's
-- queue time into another interval, and the interval it left needs its AHT recomputed too. Read
-- before the upsert, in the same transaction.
SELECT coalesce(array_agg(DISTINCT p.interval_start ORDER BY p.interval_start), '{{}}')
FROM {schema}.stg_interactions s
JOIN {schema}.interactions p ON p.integration = s.integration AND p.interaction_id = s.interaction_id
WHERE s.integration = %(integration)s AND s.report_id = %(report_id)s
  AND p.interval_start <> s.interval_start
  AND (p.report_created_at IS NULL OR p.report_created_at <= %(report_created_at)s)
