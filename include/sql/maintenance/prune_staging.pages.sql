-- One batch of landed report pages older than the staging retention, whatever became of their
-- run: a successful interactions run removes its own, failed and cleared runs leave theirs here.
DELETE FROM {schema}.raw_report_pages
WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM {schema}.raw_report_pages
    WHERE fetched_at < coalesce(%(now)s::timestamptz, now()) - %(retention)s::interval
    LIMIT %(batch_rows)s
))
