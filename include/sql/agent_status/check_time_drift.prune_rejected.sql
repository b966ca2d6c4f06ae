-- Quarantined rows are published to rejected_rows by then; their staging copy goes with the
-- report's events and pages (no other step cleans it up for agent-status reports).
DELETE FROM {schema}.stg_rejected_rows r
WHERE r.integration = %(integration)s
  AND NOT EXISTS (SELECT 1 FROM {schema}.stg_status_events e
                  WHERE e.integration = r.integration AND e.report_id = r.report_id)
  AND NOT EXISTS (SELECT 1 FROM {schema}.stg_interactions i
                  WHERE i.integration = r.integration AND i.report_id = r.report_id)
  AND NOT EXISTS (SELECT 1 FROM {schema}.raw_report_pages p
                  WHERE p.integration = r.integration AND p.report_id = r.report_id)
