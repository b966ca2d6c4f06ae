-- Retention: the maintenance DAG deletes rows older than a cutoff in small batches; each batch
-- finds its rows through one of these indexes instead of scanning the whole table.
-- {schema} is replaced by the validated, quoted warehouse schema name.
CREATE INDEX IF NOT EXISTS load_runs_finished_idx ON {schema}.load_runs (finished_at);
CREATE INDEX IF NOT EXISTS rejected_rows_first_seen_idx ON {schema}.rejected_rows (first_seen_at);
CREATE INDEX IF NOT EXISTS agent_status_live_log_observed_idx
    ON {schema}.agent_status_live_log (observed_at);
CREATE INDEX IF NOT EXISTS dq_results_checked_idx ON {schema}.dq_results (checked_at);
CREATE INDEX IF NOT EXISTS raw_report_pages_fetched_idx ON {schema}.raw_report_pages (fetched_at);
CREATE INDEX IF NOT EXISTS stg_status_events_staged_idx ON {schema}.stg_status_events (staged_at);
