-- How many staged interactions are published already, and the intervals they are about to leave:
-- a re-read can move an interaction's queue time into another interval, and the interval it left
-- needs its AHT recomputed too. Read before the insert, in the same transaction. With none
-- published (a first import of the data), the load is a plain insert (load.new.sql).
SELECT count(*),
       coalesce(array_agg(DISTINCT p.interval_start ORDER BY p.interval_start)
                    FILTER (WHERE p.interval_start <> s.interval_start
                              AND (p.report_created_at IS NULL
                                   OR p.report_created_at <= %(report_created_at)s)),
                '{{}}')
FROM {schema}.stg_interactions s
JOIN {schema}.interactions p ON p.integration = s.integration AND p.interaction_id = s.interaction_id
WHERE s.integration = %(integration)s AND s.report_id = %(report_id)s
