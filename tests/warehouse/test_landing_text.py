"""Report pages land as the JSON text 8x8 sent, read once by the client, over real HTTP to a
scripted server and into a real warehouse; pages that text cannot carry safely land from their rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from psycopg import sql

from acdflow.eightbyeight import EightByEightClient, EightByEightSettings
from acdflow.eightbyeight.client import DetailedPage
from acdflow.transform.rows import UNSTORABLE_ROW_KEY
from acdflow.warehouse import store
from acdflow.warehouse.migrate import apply_migrations
from tests.client.scripted_server import Answer, Script, data_path, serve

DATA_PATH = data_path(5)
KEY: dict[str, Any] = {"integration": "acme", "report_kind": "x", "report_id": 5}


@pytest.fixture
def scripted() -> Iterator[tuple[Script, str]]:
    script = Script()
    with serve(script) as url:
        yield script, url


def _read_page(url: str, script: Script, payload: bytes, rows: int) -> DetailedPage:
    script.add(DATA_PATH, Answer(raw=payload, headers={"X-Total-Elements": str(rows), "X-Total-Pages": "1"}))
    settings = EightByEightSettings("id", "scripted-secret", "us", "UTC", base_url=url, max_attempts=1)
    with EightByEightClient(settings) as client:
        (page,) = client.iter_detailed_pages(5)
    return page


def _row(value: str) -> str:
    return (
        '{"total": null, "items": [{"key": "interactionId", "value": "'
        + value
        + '"}, {"key": "n", "value": 7}]}'
    )


def _landed_bodies(conn: store.Connection, schema: str) -> list[str]:
    query = sql.SQL("SELECT body FROM {}.raw_report_pages ORDER BY page_index").format(sql.Identifier(schema))
    return [row[0] for row in conn.execute(query).fetchall()]


def _land(conn: store.Connection, schema: str, page: DetailedPage) -> list[Any]:
    store.land_pages(conn, schema, pages=[store.LandingPage(page.rows, page.text)], **KEY)
    return list(store.iter_landed_rows(conn, schema, integration="acme", report_id=5))


def test_a_page_lands_as_the_text_8x8_sent(
    scripted: tuple[Script, str], warehouse_uri: str, fresh_schema: str
) -> None:
    script, url = scripted
    # Compact and with its own key order: anything re-serialised would not be these characters.
    payload = "[" + ",".join([_row("int-1"), _row("int-é"), _row("int-\\u00e9😀")]) + "]"
    page = _read_page(url, script, payload.encode(), 3)
    assert page.text == payload
    with store.connect(warehouse_uri, fresh_schema) as conn:
        stored = _land(conn, fresh_schema, page)
        assert _landed_bodies(conn, fresh_schema) == [payload]
    assert stored == page.rows
    assert [r["items"][0]["value"] for r in stored] == ["int-1", "int-é", "int-é😀"]


@pytest.mark.parametrize(
    ("value", "row_kept"),
    [
        ("int-\\u0000", False),  # NUL: no PostgreSQL text holds it
        ("int-\\ud800", False),  # an unpaired surrogate: not UTF-8
        ("int-\\\\u0000", True),  # an escaped backslash, then "u0000": a harmless text
        ("int-\\ud83d\\ude00", True),  # a surrogate pair: one character, serialised again
    ],
)
def test_rows_text_could_not_carry_land_from_their_rows(
    scripted: tuple[Script, str], warehouse_uri: str, fresh_schema: str, value: str, row_kept: bool
) -> None:
    script, url = scripted
    payload = "[" + _row("int-good") + ", " + _row(value) + "]"
    page = _read_page(url, script, payload.encode(), 2)
    assert page.text == payload
    with store.connect(warehouse_uri, fresh_schema) as conn:
        good, other = _land(conn, fresh_schema, page)
    assert good == page.rows[0]
    if row_kept:
        assert other == page.rows[1]
        assert other["items"][0]["value"] in ("int-\\u0000", "int-\U0001f600")
    else:
        # The transform quarantines this row with a reason; the page and its good row land.
        assert set(other) == {UNSTORABLE_ROW_KEY}
        assert json.loads(other[UNSTORABLE_ROW_KEY]) == page.rows[1]


@pytest.mark.parametrize(
    "payload",
    [
        # A byte-order mark: json.loads reads it, but it is not part of the JSON text.
        b"\xef\xbb\xbf[" + _row("int-1").encode() + b"]",
        # UTF-16, which JSON allows.
        ("[" + _row("int-1") + "]").encode("utf-16-le"),
        # A surrogate encoded as UTF-8 bytes: json.loads lets it through, UTF-8 does not.
        b"[" + _row("int-\xed\xa0\x80").encode("latin-1") + b"]",
    ],
    ids=["bom", "utf16", "encoded_surrogate"],
)
def test_pages_not_plain_utf8_json_land_from_their_rows(
    scripted: tuple[Script, str], warehouse_uri: str, fresh_schema: str, payload: bytes
) -> None:
    script, url = scripted
    page = _read_page(url, script, payload, 1)
    assert page.text is None
    with store.connect(warehouse_uri, fresh_schema) as conn:
        (stored,) = _land(conn, fresh_schema, page)
    if "\ud800" in page.rows[0]["items"][0]["value"]:
        assert set(stored) == {UNSTORABLE_ROW_KEY}
    else:
        assert stored == page.rows[0]


def test_pages_landed_as_jsonb_read_back_after_the_text_migration(
    warehouse_uri: str, fresh_schema: str
) -> None:
    rows = [
        {"total": None, "items": [{"key": "interactionId", "value": "int-1"}, {"key": "n", "value": 1.5}]}
    ]
    ident = sql.Identifier(fresh_schema)
    with store.connect(warehouse_uri, fresh_schema) as conn:
        # The schema as it was before 0007, with a page a task of that release landed.
        with conn.transaction():
            conn.execute(
                sql.SQL(
                    "ALTER TABLE {}.raw_report_pages ALTER COLUMN body TYPE jsonb USING body::jsonb"
                ).format(ident)
            )
            conn.execute(sql.SQL("DELETE FROM {}.schema_migrations WHERE version = 7").format(ident))
            conn.execute(
                sql.SQL(
                    "INSERT INTO {}.raw_report_pages (integration, report_kind, report_id, page_index,"
                    " row_count, body) VALUES ('acme', 'x', 5, 0, 1, %s::jsonb)"
                ).format(ident),
                (json.dumps(rows),),
            )
        assert apply_migrations(conn, fresh_schema) == [7]
        column = conn.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = %s"
            " AND table_name = 'raw_report_pages' AND column_name = 'body'",
            (fresh_schema,),
        ).fetchone()
        assert column == ("text",)
        assert list(store.iter_landed_rows(conn, fresh_schema, integration="acme", report_id=5)) == rows
