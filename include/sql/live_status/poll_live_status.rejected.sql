-- Quarantine the /agents elements one poll skipped: one rejected_rows row per integration, agent
-- and reason (source 'live_status'). An element changes on every poll (its timers tick), so its
-- identity (row_hash) is the agent and the reason, not the element: an agent that stays broken is
-- one row, kept from the poll that first saw it; a new reason for it is a new row.
--
-- Parameters: integration, observed_at (the poll's warehouse time) and one array per column
-- (row_hash, reason, raw as JSON text, record_id), all of the same length.
INSERT INTO {schema}.rejected_rows (
    integration, source, row_hash, reason, raw, record_id, record_time, interval_start
)
SELECT
    %(integration)s, 'live_status', r.row_hash, r.reason, r.raw::jsonb, r.record_id,
    %(observed_at)s::timestamptz,
    date_bin('15 minutes', %(observed_at)s::timestamptz, TIMESTAMPTZ '2000-01-01 00:00:00+00')
FROM unnest(
    %(row_hash)s::text[], %(reason)s::text[], %(raw)s::text[], %(record_id)s::text[]
) AS r (row_hash, reason, raw, record_id)
ON CONFLICT (integration, source, row_hash) DO NOTHING
