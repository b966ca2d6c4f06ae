-- One check result of one interval; a re-run of the interval's checks replaces it.
INSERT INTO {schema}.dq_results AS r
    (integration, interval_start, interval_end, check_name, passed, observed_offset_minutes, details, checked_at)
VALUES (%(integration)s, %(interval_start)s, %(interval_end)s, %(check_name)s, %(passed)s,
        %(observed_offset_minutes)s, %(details)s, now())
ON CONFLICT (integration, interval_start, check_name) DO UPDATE SET
    interval_end            = EXCLUDED.interval_end,
    passed                  = EXCLUDED.passed,
    observed_offset_minutes = EXCLUDED.observed_offset_minutes,
    details                 = EXCLUDED.details,
    checked_at              = EXCLUDED.checked_at
