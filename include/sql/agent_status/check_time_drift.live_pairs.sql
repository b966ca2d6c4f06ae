-- Live-observed status starts in [start, end) paired with the nearest historical start of the same
-- agent and status name within 14 hours (the widest UTC offset), for the live-vs-history drift
-- check. LoggedOut is left out: its live start is the logout time, not a status change.
SELECT l.agent_id, l.status_name, l.start_time AS live_start, h.start_time AS history_start
FROM {schema}.agent_status_live_log l
CROSS JOIN LATERAL (
    SELECT start_time
    FROM {schema}.agent_status_history h
    WHERE h.integration = l.integration
      AND h.agent_id = l.agent_id
      AND lower(h.status_name) = lower(l.status_name)
      AND h.start_time BETWEEN l.start_time - interval '14 hours' AND l.start_time + interval '14 hours'
    ORDER BY abs(extract(epoch FROM h.start_time - l.start_time))
    LIMIT 1
) h
WHERE l.integration = %(integration)s
  AND l.start_time >= %(start)s
  AND l.start_time < %(end)s
  AND lower(l.status) <> 'loggedout'
ORDER BY l.start_time, l.agent_id
