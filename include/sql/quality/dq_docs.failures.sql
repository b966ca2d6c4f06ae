-- acdflow dq docs: the newest failed checks, with what they found.
SELECT integration, interval_start, interval_end, check_name, observed_offset_minutes, details, checked_at
FROM {schema}.dq_results
WHERE NOT passed AND interval_start >= %(since)s
ORDER BY interval_start DESC, integration, check_name
LIMIT %(limit)s
