"""The WFM warehouse: PostgreSQL connection handling, migrations and loads."""
