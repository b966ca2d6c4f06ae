-- Publish one report's staged interactions. Keyed upsert: re-running, clearing or backfilling an
-- interval (or two runs at once) converges on one row per interaction.
-- Unchanged rows are left out before the upsert, not only in its WHERE: an ON CONFLICT that
-- decides not to update still locks the row, and that lock is written to the WAL and dirties the
-- page, for every row every run re-reads in its look-back.
-- Newer wins: a row written from a report created later than this one is never overwritten, so a
-- retried load of an older report that finishes last cannot roll rows back.
-- Rows go in key order: the primary-key index is then filled page by page instead of at random,
-- and two runs upserting the same interval lock their rows in the same order, so they cannot
-- deadlock.
INSERT INTO {schema}.interactions AS t (
    integration, interaction_id, queue_id, queue_name, channel, media_type, direction,
    queue_time, interval_start, handled, handling_ms, created_time, finished_time, report_id,
    report_created_at, loaded_at
)
SELECT s.integration, s.interaction_id, s.queue_id, s.queue_name, s.channel, s.media_type, s.direction,
       s.queue_time, s.interval_start, s.handled, s.handling_ms, s.created_time, s.finished_time,
       s.report_id, %(report_created_at)s, now()
FROM {schema}.stg_interactions s
WHERE s.integration = %(integration)s AND s.report_id = %(report_id)s
  AND NOT EXISTS (
      SELECT 1 FROM {schema}.interactions p
      WHERE p.integration = s.integration AND p.interaction_id = s.interaction_id
        AND (p.report_created_at > %(report_created_at)s
             OR (p.queue_id, p.queue_name, p.channel, p.media_type, p.direction, p.queue_time, p.handled,
                 p.handling_ms, p.created_time, p.finished_time)
                IS NOT DISTINCT FROM
                (s.queue_id, s.queue_name, s.channel, s.media_type, s.direction, s.queue_time, s.handled,
                 s.handling_ms, s.created_time, s.finished_time)))
ORDER BY s.interaction_id
ON CONFLICT (integration, interaction_id) DO UPDATE SET
    queue_id          = EXCLUDED.queue_id,
    queue_name        = EXCLUDED.queue_name,
    channel           = EXCLUDED.channel,
    media_type        = EXCLUDED.media_type,
    direction         = EXCLUDED.direction,
    queue_time        = EXCLUDED.queue_time,
    interval_start    = EXCLUDED.interval_start,
    handled           = EXCLUDED.handled,
    handling_ms       = EXCLUDED.handling_ms,
    created_time      = EXCLUDED.created_time,
    finished_time     = EXCLUDED.finished_time,
    report_id         = EXCLUDED.report_id,
    report_created_at = EXCLUDED.report_created_at,
    loaded_at         = EXCLUDED.loaded_at
-- Repeated here for a row another load wrote between the check above and this insert.
WHERE (t.report_created_at IS NULL OR t.report_created_at <= EXCLUDED.report_created_at)
  AND (t.queue_id, t.queue_name, t.channel, t.media_type, t.direction, t.queue_time, t.handled,
       t.handling_ms, t.created_time, t.finished_time)
      IS DISTINCT FROM
      (EXCLUDED.queue_id, EXCLUDED.queue_name, EXCLUDED.channel, EXCLUDED.media_type, EXCLUDED.direction,
       EXCLUDED.queue_time, EXCLUDED.handled, EXCLUDED.handling_ms, EXCLUDED.created_time,
       EXCLUDED.finished_time)
