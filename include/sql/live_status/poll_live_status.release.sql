-- A run whose window closed gives up the poll, unless a later run already took it over.
DELETE FROM {schema}.live_poll_owner WHERE integration = %(integration)s AND run_id = %(run_id)s
RETURNING run_id
