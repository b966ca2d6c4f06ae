-- 8x8's status-change report has no end times: a status lasts until the same agent's next change.
-- For every agent the load touched, recompute end_time from the stored log, starting at the last
-- status before the new events (the one they close); the latest status of an agent stays open
-- (NULL). load.sql already inserts most statuses with the end the report itself shows, so this
-- rewrites only the rows whose end really changes.
-- In the same pass every end time is judged: a status is certain only when loaded reports read
-- all of its time. Otherwise events in between may be missing (a run failed and nothing has
-- re-read its window yet) and the status would silently bridge the gap, so it is marked
-- provisional. Closed statuses are judged over [start, end); open ones over [start, end of the
-- latest time read), since a gap after an open status hides its end. Besides the touched chains,
-- the integration's provisional and open statuses are judged again, as covered time only grows.
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
           lead(h.start_time) OVER (PARTITION BY h.agent_id ORDER BY h.start_time) AS end_time
    FROM {schema}.agent_status_history h
    JOIN anchored a ON a.agent_id = h.agent_id
    WHERE h.integration = %(integration)s AND h.start_time >= a.from_time
), unsettled AS (
    SELECT h.agent_id, h.start_time, h.end_time
    FROM {schema}.agent_status_history h
    WHERE h.integration = %(integration)s AND (h.end_time_provisional OR h.end_time IS NULL)
      AND NOT EXISTS (SELECT 1 FROM chain c WHERE c.agent_id = h.agent_id AND c.start_time = h.start_time)
), coverage AS (
    SELECT coalesce((SELECT covered FROM {schema}.report_coverage
                     WHERE integration = %(integration)s AND report_kind = %(report_kind)s),
                    '{{}}'::tstzmultirange) AS covered
), judged AS (
    SELECT s.agent_id, s.start_time, s.end_time,
           NOT v.covered @> tstzrange(s.start_time,
                                      coalesce(s.end_time, greatest(s.start_time, upper(v.covered))))
               AS provisional
    FROM (SELECT * FROM chain UNION ALL SELECT * FROM unsettled) s CROSS JOIN coverage v
)
UPDATE {schema}.agent_status_history h
SET end_time = j.end_time, end_time_provisional = j.provisional
FROM judged j
WHERE h.integration = %(integration)s
  AND h.agent_id = j.agent_id
  AND h.start_time = j.start_time
  AND (h.end_time, h.end_time_provisional) IS DISTINCT FROM (j.end_time, j.provisional)
