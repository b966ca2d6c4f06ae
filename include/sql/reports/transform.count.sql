-- How many rows a report landed: the transform must account for every one of them.
SELECT coalesce(sum(row_count), 0) FROM {schema}.raw_report_pages
WHERE integration = %(integration)s AND report_id = %(report_id)s
