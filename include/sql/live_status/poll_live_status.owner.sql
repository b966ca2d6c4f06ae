SELECT run_id FROM {schema}.live_poll_owner WHERE integration = %(integration)s
