-- One batch of staged quarantined rows whose report has neither landed pages nor staged events
-- left (what check_time_drift's own prune keeps, for every report kind).
DELETE FROM {schema}.stg_rejected_rows
WHERE ctid = ANY (ARRAY(
    SELECT r.ctid FROM {schema}.stg_rejected_rows r
    WHERE NOT EXISTS (
        SELECT 1 FROM {schema}.raw_report_pages p
        WHERE p.integration = r.integration AND p.report_id = r.report_id
    )
      AND NOT EXISTS (
        SELECT 1 FROM {schema}.stg_status_events e
        WHERE e.integration = r.integration AND e.report_id = r.report_id
    )
    LIMIT %(batch_rows)s
))
