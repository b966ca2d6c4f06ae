"""``extract`` lands a report page by page without a transaction open while the next page is
fetched over HTTP: checked from a second session, as PostgreSQL itself reports the landing one."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from acdflow.warehouse import store


def _state(uri: str, pid: int) -> str:
    with psycopg.connect(uri) as observer:
        row = observer.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    assert row is not None
    return str(row[0])


def _landed(uri: str, schema: str) -> int:
    with store.connect(uri, schema) as conn:
        return store.landed_row_count(conn, schema, integration="acme", report_id=3)


def test_no_transaction_is_open_while_the_next_page_is_fetched(warehouse_uri: str, fresh_schema: str) -> None:
    pages = [store.LandingPage([{"n": p * 2 + i} for i in range(2)]) for p in range(3)]
    seen: list[tuple[str, int]] = []
    with store.connect(warehouse_uri, fresh_schema) as conn:
        pid = conn.info.backend_pid

        def fetched_pages() -> Iterator[store.LandingPage]:
            for index, page in enumerate(pages):
                if index:
                    # Here the client would page and back off over HTTP.
                    seen.append((_state(warehouse_uri, pid), _landed(warehouse_uri, fresh_schema)))
                yield page

        landed = store.land_pages(
            conn, fresh_schema, integration="acme", report_kind="x", report_id=3, pages=fetched_pages()
        )
    assert (landed.pages, landed.rows) == (3, 6)
    # Idle, not "idle in transaction"; and every page so far is committed, visible to others.
    assert seen == [("idle", 2), ("idle", 4)]


def test_a_paging_failure_leaves_no_pages_behind(warehouse_uri: str, fresh_schema: str) -> None:
    class PagingFailed(Exception):
        pass

    def failing_pages() -> Iterator[store.LandingPage]:
        yield store.LandingPage([{"n": 1}])
        yield store.LandingPage([{"n": 2}])
        raise PagingFailed("8x8 gave up")

    with store.connect(warehouse_uri, fresh_schema) as conn:
        with pytest.raises(PagingFailed):
            store.land_pages(
                conn, fresh_schema, integration="acme", report_kind="x", report_id=3, pages=failing_pages()
            )
        assert store.landed_row_count(conn, fresh_schema, integration="acme", report_id=3) == 0
        landed = store.land_pages(
            conn,
            fresh_schema,
            integration="acme",
            report_kind="x",
            report_id=3,
            pages=iter([store.LandingPage([{"n": 1}])]),
        )
        assert landed.rows == 1
