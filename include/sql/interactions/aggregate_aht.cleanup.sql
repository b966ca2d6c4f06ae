-- After AHT is recomputed the report's landing and staging rows are no longer needed; landing
-- rows of runs that failed for good are dropped after two days.
WITH staged AS (
    DELETE FROM {schema}.stg_interactions
    WHERE integration = %(integration)s AND report_id = %(report_id)s
), rejected AS (
    DELETE FROM {schema}.stg_rejected_rows
    WHERE integration = %(integration)s AND report_id = %(report_id)s
)
DELETE FROM {schema}.raw_report_pages
WHERE integration = %(integration)s
  AND (report_id = %(report_id)s OR fetched_at < now() - interval '2 days')
