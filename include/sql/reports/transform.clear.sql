-- A re-run transform replaces the report's staged rows ({table}: a staging table).
DELETE FROM {schema}.{table} WHERE integration = %(integration)s AND report_id = %(report_id)s
