-- One batch of staged interactions whose report has no landed page left. Staged rows carry no
-- time of their own: transform stages them from the pages, so once the pages are gone (pruned
-- above, or never re-landed after a failed extract) nothing can publish them any more. The probe
-- per row is the landed pages' primary key; staged ids compare bytewise ("C"), the pages' key in
-- the database collation, and only a comparison in the index's collation can use the index.
DELETE FROM {schema}.stg_interactions
WHERE ctid = ANY (ARRAY(
    SELECT s.ctid FROM {schema}.stg_interactions s
    WHERE NOT EXISTS (
        SELECT 1 FROM {schema}.raw_report_pages p
        WHERE p.integration = s.integration COLLATE "default" AND p.report_id = s.report_id
    )
    LIMIT %(batch_rows)s
))
