-- One batch of quarantined rows first seen longer ago than the retention. A row 8x8 still sends
-- is quarantined again (as new) by the next load that reads it.
DELETE FROM {schema}.rejected_rows
WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM {schema}.rejected_rows
    WHERE first_seen_at < coalesce(%(now)s::timestamptz, now()) - %(retention)s::interval
    LIMIT %(batch_rows)s
))
