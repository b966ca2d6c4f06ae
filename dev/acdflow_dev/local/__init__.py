"""Local stand-ins for a deployment: a real Airflow, the demo integration and its report."""
