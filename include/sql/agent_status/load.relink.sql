-- 8x8's status-change report has no end times: a status lasts until the same agent's next change.
-- For every agent the load touched, recompute end_time from the stored log, starting at the last
-- status before the new events (the one they close); the latest status of an agent stays open
-- (NULL). A changed end time is marked provisional here and judged by load.provisional.sql.
WITH touched AS (
    SELECT agent_id, min(start_time) AS first_new
    FROM {schema}.stg_status_events
    WHERE integration = %(integration)s AND report_id = %(report_id)s
    GROUP BY agent_id
), anchored AS (
    SELECT t.agent_id,
           coalesce((SELECT max(p.start_time) FROM {schema}.agent_status_history p
                     WHERE p.integration = %(integration)s AND p.agent_id = t.agent_id
                       AND p.start_time < t.first_new), t.first_new) AS from_time
    FROM touched t
), chain AS (
    SELECT h.agent_id, h.start_time,
           lead(h.start_time) OVER (PARTITION BY h.agent_id ORDER BY h.start_time) AS next_start
    FROM {schema}.agent_status_history h
    JOIN anchored a ON a.agent_id = h.agent_id
    WHERE h.integration = %(integration)s AND h.start_time >= a.from_time
)
UPDATE {schema}.agent_status_history h
SET end_time = c.next_start, end_time_provisional = true
FROM chain c
WHERE h.integration = %(integration)s
  AND h.agent_id = c.agent_id
  AND h.start_time = c.start_time
  AND h.end_time IS DISTINCT FROM c.next_start
