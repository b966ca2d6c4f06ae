-- Newer wins, provisional end times and transient landing.
-- {schema} is replaced by the validated, quoted warehouse schema name; literal braces are doubled.

-- Each published row records when the report it came from was created (the warehouse clock, just
-- before the create request): a report created earlier never overwrites a row written from a
-- later one, whatever order their loads finish in. Rows published before this column existed
-- have NULL, which every report may overwrite.
ALTER TABLE {schema}.interactions ADD COLUMN IF NOT EXISTS report_created_at timestamptz;
ALTER TABLE {schema}.agent_status_history ADD COLUMN IF NOT EXISTS report_created_at timestamptz;

-- The status-change report has no end times: a status ends at the agent's next event. When the
-- events between the two were never read (a run failed and nothing has re-read its window yet),
-- the end time bridges a gap and may be wrong; it is provisional until loaded reports cover the
-- whole status. An open status (no end yet) is provisional while time after its start is unread.
ALTER TABLE {schema}.agent_status_history
    ADD COLUMN IF NOT EXISTS end_time_provisional boolean NOT NULL DEFAULT false;
-- Every load re-judges the provisional and the open statuses of its integration.
CREATE INDEX IF NOT EXISTS agent_status_history_unsettled_idx
    ON {schema}.agent_status_history (integration) WHERE end_time_provisional OR end_time IS NULL;

-- The UTC time an integration's loaded reports of a kind have read, merged into one multirange.
CREATE TABLE IF NOT EXISTS {schema}.report_coverage (
    integration text           NOT NULL,
    report_kind text           NOT NULL,
    covered     tstzmultirange NOT NULL,
    PRIMARY KEY (integration, report_kind)
);

-- Landed pages and staged rows are transient and a re-run reads them from 8x8 again, so they need
-- no write-ahead log: that log was most of the warehouse's writes, since every run re-reads its
-- look-back. After a crash or a failover these tables are empty; transform, load and
-- check_time_drift notice the missing rows and fail with a clear error instead of publishing or
-- validating less.
ALTER TABLE {schema}.raw_report_pages SET UNLOGGED;
ALTER TABLE {schema}.stg_interactions SET UNLOGGED;
ALTER TABLE {schema}.stg_status_events SET UNLOGGED;
ALTER TABLE {schema}.stg_rejected_rows SET UNLOGGED;
