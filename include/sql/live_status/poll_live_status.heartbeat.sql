-- The owner's heartbeat; inside the snapshot's transaction it also locks the owner row, so no
-- other run can take over until the snapshot is committed. No row: the run lost ownership.
-- now is the poll's warehouse time (NULL: the warehouse's clock now); never a worker's clock.
UPDATE {schema}.live_poll_owner
SET heartbeat_at = greatest(heartbeat_at, coalesce(%(now)s::timestamptz, clock_timestamp()))
WHERE integration = %(integration)s AND run_id = %(run_id)s
RETURNING run_id
