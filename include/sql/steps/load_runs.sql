-- One row per step and try, successful or failed: the run log.
INSERT INTO {schema}.load_runs (
    integration, dag_id, run_id, step, try_number, interval_start, interval_end, report_id,
    rows_fetched, rows_loaded, rows_rejected, api_requests, duration_ms, status, error, details
) VALUES (
    %(integration)s, %(dag_id)s, %(run_id)s, %(step)s, %(try_number)s, %(interval_start)s,
    %(interval_end)s, %(report_id)s, %(rows_fetched)s, %(rows_loaded)s, %(rows_rejected)s,
    %(api_requests)s, %(duration_ms)s, %(status)s, %(error)s, %(details)s
)
