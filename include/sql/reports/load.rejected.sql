-- Quarantine: one row per distinct bad row (hash of the raw row) per integration and source.
-- The first run that saw it keeps it, so re-reads never duplicate it.
INSERT INTO {schema}.rejected_rows (
    integration, source, row_hash, reason, raw, record_id, record_time, interval_start, report_id
)
SELECT integration, %(source)s, row_hash, reason, raw, record_id, record_time, %(interval_start)s, report_id
FROM {schema}.stg_rejected_rows
WHERE integration = %(integration)s AND report_id = %(report_id)s
ON CONFLICT (integration, source, row_hash) DO NOTHING
