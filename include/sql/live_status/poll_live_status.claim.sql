-- Claim the live poll of an integration for one DAG run. Parameters: integration, run_id,
-- window_start (the run's data interval end: when its turn to poll begins), stale_after (interval)
-- and now (NULL: the warehouse's clock, which is what the poller uses; a fixed instant only
-- replays the rule). Every time stored or compared here is on that one clock, so a worker whose
-- own clock is off can neither claim "in the future" nor look stale to the others.
--
-- The claim succeeds when nobody owns the poll, when this run already owns it (a task retry keeps
-- the original claimed_at), when the owner claimed before this run's turn began (it belongs to an
-- earlier data interval: the newer run takes over and the older one stops at its next check), or
-- when the owner's heartbeat is older than stale_after (its worker died). An older run, or a
-- second run of the same interval, never takes the poll from a live owner. Returns the owner row
-- after the statement, whether this run holds it, and the instant the claim was judged at.
WITH clock AS (
    SELECT coalesce(%(now)s::timestamptz, clock_timestamp()) AS now
),
previous AS (
    SELECT run_id, claimed_at, heartbeat_at
    FROM {schema}.live_poll_owner
    WHERE integration = %(integration)s
),
claimed AS (
    INSERT INTO {schema}.live_poll_owner AS o (integration, run_id, claimed_at, heartbeat_at)
    SELECT %(integration)s, %(run_id)s, k.now, k.now FROM clock AS k
    ON CONFLICT (integration) DO UPDATE SET
        run_id = excluded.run_id,
        claimed_at = CASE WHEN o.run_id = excluded.run_id THEN o.claimed_at ELSE excluded.claimed_at END,
        heartbeat_at = excluded.heartbeat_at
    WHERE
        o.run_id = excluded.run_id
        OR o.claimed_at < %(window_start)s
        OR o.heartbeat_at < excluded.heartbeat_at - %(stale_after)s::interval
        -- A claim dated after this instant was stamped by a worker's clock that ran ahead (rows
        -- written before the poller took its times from the warehouse); it cannot be trusted.
        OR o.claimed_at > excluded.claimed_at
    RETURNING o.run_id, o.claimed_at, o.heartbeat_at
)
SELECT
    true AS owned, c.run_id, c.claimed_at, c.heartbeat_at,
    p.run_id AS previous_run_id, p.heartbeat_at AS previous_heartbeat_at, k.now
FROM claimed AS c
CROSS JOIN clock AS k
LEFT JOIN previous AS p ON true
UNION ALL
SELECT
    false, p.run_id, p.claimed_at, p.heartbeat_at, p.run_id, p.heartbeat_at, k.now
FROM previous AS p
CROSS JOIN clock AS k
WHERE NOT EXISTS (SELECT 1 FROM claimed)
