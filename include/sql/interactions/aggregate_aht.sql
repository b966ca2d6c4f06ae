-- AHT per (interval, queue, channel) = sum of handling times of handled interactions with a
-- handling time / their number (the product's definition, see docs/8x8-api-notes.md, "Product
-- rules acdflow reproduces"), recomputed from the published interactions for
-- every interval a load touched, so late arrivals update the interval they belong to.
-- This is the only AHT computation: aht_seconds is the average rounded half-up to the
-- millisecond, exactly, in integers: floor((2 * sum + count) / (2 * count)) ms (handling times
-- are never negative). round(sum::numeric / count / 1000, 3) rounded twice: numeric division
-- keeps about 16 significant digits, so for large averages over many calls an average just
-- below half a millisecond (e.g. 5000000000000.49995 ms over 10001 calls) came out rounded up.
WITH fresh AS (
    SELECT integration, interval_start, queue_name, channel,
           count(*)::integer AS handled_count,
           sum(handling_ms)::bigint AS handling_ms_sum
    FROM {schema}.interactions
    WHERE integration = %(integration)s
      AND interval_start = ANY(%(intervals)s)
      AND handled
      AND handling_ms IS NOT NULL
    GROUP BY integration, interval_start, queue_name, channel
), removed AS (
    DELETE FROM {schema}.interval_aht a
    WHERE a.integration = %(integration)s
      AND a.interval_start = ANY(%(intervals)s)
      AND NOT EXISTS (
          SELECT 1 FROM fresh f
          WHERE f.interval_start = a.interval_start AND f.queue_name = a.queue_name AND f.channel = a.channel)
    RETURNING 1
)
INSERT INTO {schema}.interval_aht AS t (
    integration, interval_start, queue_name, channel, handled_count, handling_ms_sum, aht_seconds
)
SELECT integration, interval_start, queue_name, channel, handled_count, handling_ms_sum,
       div(2 * handling_ms_sum::numeric + handled_count, 2 * handled_count::numeric) * 0.001
FROM fresh
ON CONFLICT (integration, interval_start, queue_name, channel) DO UPDATE SET
    handled_count   = EXCLUDED.handled_count,
    handling_ms_sum = EXCLUDED.handling_ms_sum,
    aht_seconds     = EXCLUDED.aht_seconds
WHERE (t.handled_count, t.handling_ms_sum, t.aht_seconds)
      IS DISTINCT FROM (EXCLUDED.handled_count, EXCLUDED.handling_ms_sum, EXCLUDED.aht_seconds)
