-- A status is certain only when loaded reports read all of its time: otherwise events in between
-- may be missing (a run failed and nothing has re-read its window yet) and the status would
-- silently bridge the gap. Closed statuses are judged over [start, end); open ones over
-- [start, end of the latest time read), since a gap after an open status hides its end.
-- Judges the provisional and the open statuses of the integration (the relink marks every end
-- time it changes provisional), after the report's window is recorded as covered.
WITH judged AS (
    SELECT h.agent_id, h.start_time,
           NOT c.covered @> tstzrange(h.start_time,
                                      coalesce(h.end_time, greatest(h.start_time, upper(c.covered))))
               AS provisional
    FROM {schema}.agent_status_history h
    JOIN {schema}.report_coverage c ON c.integration = h.integration AND c.report_kind = %(report_kind)s
    WHERE h.integration = %(integration)s AND (h.end_time_provisional OR h.end_time IS NULL)
)
UPDATE {schema}.agent_status_history h
SET end_time_provisional = j.provisional
FROM judged j
WHERE h.integration = %(integration)s AND h.agent_id = j.agent_id AND h.start_time = j.start_time
  AND h.end_time_provisional IS DISTINCT FROM j.provisional
