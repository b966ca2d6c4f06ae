-- acdflow dq docs: per integration and check, how many intervals were checked and failed.
SELECT integration, check_name,
       count(*)                                      AS intervals,
       count(*) FILTER (WHERE NOT passed)            AS failed,
       min(interval_start)                           AS first_interval,
       max(interval_start)                           AS last_interval,
       max(interval_start) FILTER (WHERE NOT passed) AS last_failure,
       max(checked_at)                               AS last_checked
FROM {schema}.dq_results
WHERE interval_start >= %(since)s
GROUP BY integration, check_name
ORDER BY integration, check_name
