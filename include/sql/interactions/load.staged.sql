-- The staged count and the intervals the load touched, in one pass over the staged rows.
SELECT count(*), coalesce(array_agg(DISTINCT interval_start ORDER BY interval_start), '{{}}')
FROM {schema}.stg_interactions
WHERE integration = %(integration)s AND report_id = %(report_id)s
