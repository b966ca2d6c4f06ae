-- Record the UTC window this report read as covered: a status whose whole span lies in covered
-- time has a certain end time. Runs before the relink, in the same transaction.
INSERT INTO {schema}.report_coverage AS c (integration, report_kind, covered)
VALUES (%(integration)s, %(report_kind)s, tstzmultirange(tstzrange(%(window_start)s, %(window_end)s)))
ON CONFLICT (integration, report_kind) DO UPDATE SET covered = c.covered + EXCLUDED.covered
WHERE NOT c.covered @> EXCLUDED.covered
