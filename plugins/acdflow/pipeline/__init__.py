"""The pipeline steps behind the generated DAGs: plain functions, one per task."""
