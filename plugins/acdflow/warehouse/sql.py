"""SQL files under ``include/sql/``, rendered for one warehouse schema.

SQL text uses ``{schema}`` placeholders (and ``{owner}``/``{loader}`` for role names), filled with
quoted identifiers by psycopg's ``sql`` module; values always travel as query parameters. Names are
validated here as well as by the configuration, so nothing a user types reaches SQL as text.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from psycopg import sql

from acdflow.config import SCHEMA_PATTERN
from acdflow.resources import sql_dir


@cache
def _read(relative: str, base: Path) -> str:
    return (base / relative).read_text(encoding="utf-8")


def render(relative: str, schema: str, **identifiers: str) -> sql.Composed:
    """The SQL file ``include/sql/<relative>`` with ``{schema}`` bound to ``schema``.

    ``identifiers`` bind further placeholders to role or table names (``{owner}``, ``{table}``),
    validated and quoted like the schema name.
    """
    if not SCHEMA_PATTERN.fullmatch(schema):
        raise ValueError(f"invalid warehouse schema name {schema!r}")
    for placeholder, role in identifiers.items():
        if not SCHEMA_PATTERN.fullmatch(role):
            raise ValueError(f"invalid {placeholder} name {role!r}")
    return sql.SQL(_read(relative, sql_dir())).format(
        schema=sql.Identifier(schema), **{k: sql.Identifier(v) for k, v in identifiers.items()}
    )
