-- Staged events are kept keep_days days, so a cleared check_time_drift re-validates exactly
-- what 8x8 returned; then they go.
DELETE FROM {schema}.stg_status_events
WHERE integration = %(integration)s AND staged_at < now() - %(keep_days)s * interval '1 day'
