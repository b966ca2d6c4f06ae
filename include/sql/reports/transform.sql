-- The landed pages of a report in page order, read through a server-side cursor.
SELECT body FROM {schema}.raw_report_pages
WHERE integration = %(integration)s AND report_id = %(report_id)s
ORDER BY page_index
