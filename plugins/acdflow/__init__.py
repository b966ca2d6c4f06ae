"""acdflow: 8x8 contact-center data into a WFM warehouse with Apache Airflow 3."""

__version__ = "0.1.0"
