-- The landed agent-status pages are kept as long as their staged events.
DELETE FROM {schema}.raw_report_pages
WHERE integration = %(integration)s AND report_kind = %(report_kind)s
  AND fetched_at < now() - %(keep_days)s * interval '1 day'
