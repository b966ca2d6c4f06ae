-- Claim the live poll of an integration for one DAG run. Parameters: integration, run_id, now,
-- window_start (the run's data interval end: when its turn to poll begins), stale_before.
--
-- The claim succeeds when nobody owns the poll, when this run already owns it (a task retry keeps
-- the original claimed_at), when the owner claimed before this run's turn began (it belongs to an
-- earlier data interval: the newer run takes over and the older one stops at its next check), or
-- when the owner's heartbeat is older than stale_before (its worker died). An older run, or a
-- second run of the same interval, never takes the poll from a live owner. Returns the owner row
-- after the statement and whether this run holds it.
WITH previous AS (
    SELECT run_id, claimed_at, heartbeat_at
    FROM {schema}.live_poll_owner
    WHERE integration = %(integration)s
),
claimed AS (
    INSERT INTO {schema}.live_poll_owner AS o (integration, run_id, claimed_at, heartbeat_at)
    VALUES (%(integration)s, %(run_id)s, %(now)s, %(now)s)
    ON CONFLICT (integration) DO UPDATE SET
        run_id = excluded.run_id,
        claimed_at = CASE WHEN o.run_id = excluded.run_id THEN o.claimed_at ELSE excluded.claimed_at END,
        heartbeat_at = excluded.heartbeat_at
    WHERE
        o.run_id = excluded.run_id
        OR o.claimed_at < %(window_start)s
        OR o.heartbeat_at < %(stale_before)s
    RETURNING o.run_id, o.claimed_at, o.heartbeat_at
)
SELECT
    true AS owned, c.run_id, c.claimed_at, c.heartbeat_at,
    p.run_id AS previous_run_id, p.heartbeat_at AS previous_heartbeat_at
FROM claimed AS c
LEFT JOIN previous AS p ON true
UNION ALL
SELECT
    false, p.run_id, p.claimed_at, p.heartbeat_at, p.run_id, p.heartbeat_at
FROM previous AS p
WHERE NOT EXISTS (SELECT 1 FROM claimed)
