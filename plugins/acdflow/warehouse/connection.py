"""Turn an Airflow connection (URI or JSON form) into a libpq URI psycopg accepts."""

from __future__ import annotations

import json
from urllib.parse import quote, urlsplit, urlunsplit

_POSTGRES_SCHEMES = {"postgres", "postgresql"}


def uri_from_airflow_conn(value: str) -> str:
    """Accept ``AIRFLOW_CONN_*`` values in URI or JSON form and return a ``postgresql://`` URI."""
    value = value.strip()
    if value.startswith("{"):
        data = json.loads(value)
        conn_type = str(data.get("conn_type", "postgres"))
        if conn_type not in _POSTGRES_SCHEMES:
            raise ValueError(f"warehouse connection must be of type postgres, got {conn_type!r}")
        user = quote(str(data.get("login") or ""), safe="")
        password = data.get("password")
        auth = user + (":" + quote(str(password), safe="") if password else "")
        host = str(data.get("host") or "localhost")
        port = f":{data['port']}" if data.get("port") else ""
        database = quote(str(data.get("schema") or "postgres"), safe="")
        netloc = f"{auth}@{host}{port}" if auth else f"{host}{port}"
        return f"postgresql://{netloc}/{database}"
    parts = urlsplit(value)
    if parts.scheme not in _POSTGRES_SCHEMES:
        raise ValueError(f"warehouse connection must be a postgres URI, got scheme {parts.scheme!r}")
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))
