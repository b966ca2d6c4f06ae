-- One landed page of a report (body: the page's rows as 8x8 sent them).
INSERT INTO {schema}.raw_report_pages (integration, report_kind, report_id, page_index, row_count, body)
VALUES (%(integration)s, %(report_kind)s, %(report_id)s, %(page_index)s, %(row_count)s, %(body)s)
