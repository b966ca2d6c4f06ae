"""Time-drift data-quality checks (acdflow.quality) with Great Expectations and PostgreSQL."""
