-- How many statuses the report staged.
SELECT count(*) FROM {schema}.stg_status_events
WHERE integration = %(integration)s AND report_id = %(report_id)s
