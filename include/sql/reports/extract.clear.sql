-- extract replaces a report's landed pages: a retried extract starts from nothing.
DELETE FROM {schema}.raw_report_pages WHERE integration = %(integration)s AND report_id = %(report_id)s
