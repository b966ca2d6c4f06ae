"""Turn an Airflow connection (URI or JSON form) into a libpq URI psycopg accepts."""

from __future__ import annotations

import json
from typing import Any
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


def airflow_conn_from_uri(uri: str, *, description: str | None = None) -> dict[str, Any]:
    """The JSON form of an Airflow ``postgres`` connection (``AIRFLOW_CONN_*``, ``connections
    import``) for a libpq URI: the inverse of :func:`uri_from_airflow_conn`."""
    import psycopg

    parts = psycopg.conninfo.conninfo_to_dict(uri)
    conn: dict[str, Any] = {
        "conn_type": "postgres",
        "host": str(parts.get("host") or "127.0.0.1"),
        "port": int(str(parts.get("port") or 5432)),
        "login": str(parts.get("user") or "postgres"),
        "schema": str(parts.get("dbname") or "postgres"),
    }
    if parts.get("password"):
        conn["password"] = str(parts["password"])
    if description:
        conn["description"] = description
    return conn
