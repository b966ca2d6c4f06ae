"""Summary report flow H5-H10: create, poll to DONE, data pages with the 10,000 cap, links, download."""

from __future__ import annotations

import csv
import io
from typing import Any

from acdflow_dev.sim import SimConfig, Simulator

from .helpers import AGENT_STATUS, NOW, Api


def _summary(**extra: Any) -> dict[str, Any]:
    return {
        "type": "queue-interactions-summary",
        "title": "Queue summary 20260310",
        "dateRange": {"start": "2026-03-10T00:00:00.000Z", "end": "2026-03-10T11:59:59.999Z"},
        "granularity": "hour",
        "groupBy": {"name": "media-and-channel-and-queue"},
        "timezone": "America/Los_Angeles",
        "metrics": ["entered", "accepted", "avgHandlingTime"],
        **extra,
    }


def test_create_poll_data_links_download(api: Api) -> None:
    created = api.post(f"{api.hist}", json=_summary())
    assert created.status_code == 200, created.text
    report = created.json()["id"]
    assert created.json()["status"] == "IN_PROGRESS"
    assert created.headers["Link"] == f'<{api.hist}/{report}/status>; rel="status"'
    early = api.get(f"{api.hist}/{report}/data")
    assert early.status_code == 400
    links = api.get(f"{api.hist}/{report}/links").json()
    assert [x["relation"] for x in links] == ["status"]
    statuses = [api.get(f"{api.hist}/{report}/status") for _ in range(3)]
    assert [s.json()["status"] for s in statuses] == ["IN_PROGRESS", "IN_PROGRESS", "DONE"]
    assert "Link" not in statuses[0].headers
    assert 'rel="data"' in statuses[2].headers["Link"]
    assert 'rel="download"' in statuses[2].headers["Link"]
    details = api.get(f"{api.hist}/{report}").json()
    assert details["status"] == "DONE"
    assert details["granularity"] == "hour"
    links = api.get(f"{api.hist}/{report}/links").json()
    assert [x["relation"] for x in links] == ["status", "data", "download"]
    page = api.get(f"{api.hist}/{report}/data", params={"page": 0, "size": 5})
    assert page.headers["X-Page"] == "0"
    total = int(page.headers["X-Total-Elements"])
    assert total > 5
    assert page.headers["Link"] == f'<{api.hist}/{report}/data?page=1&size=5>; rel="next"'
    rows = page.json()
    first = {i["key"]: i["value"] for i in rows[0]["items"]}
    assert list(first)[:6] == ["startTime", "endTime", "media", "channel", "queue", "queueId"]
    assert first["startTime"].endswith("-07:00")
    assert len(first["startTime"]) == len("2026-03-10T00:00-07:00")
    assert all(isinstance(i["value"], str) or i["value"] is None for r in rows for i in r["items"])
    last = api.get(f"{api.hist}/{report}/data", params={"page": (total - 1) // 5, "size": 5})
    assert "Link" not in last.headers
    download = api.get(f"{api.hist}/{report}/download", headers=api.headers(Accept="text/csv"))
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "text/csv"
    assert download.headers["Content-Disposition"] == 'attachment; filename="Queue summary 20260310.csv"'
    table = list(csv.reader(io.StringIO(download.text)))
    assert table[0][:3] == ["Start Time", "End Time", "Media"]
    assert len(table) == total + 1
    xlsx = api.get(f"{api.hist}/{report}/download", headers=api.headers(Accept="text/xlsx"))
    assert xlsx.status_code == 406  # documented deviation: the simulator produces CSV only
    assert api.get(f"{api.hist}/{report}/download").status_code == 406  # Accept: application/json


def test_summary_validation(api: Api) -> None:
    assert api.post(f"{api.hist}", json=_summary(granularity="month")).status_code == 400
    assert api.post(f"{api.hist}", json=_summary(granularity="fortnight")).status_code == 400
    assert api.post(f"{api.hist}", json=_summary(type="nope")).status_code == 400
    assert api.get(f"{api.hist}/123").status_code == 404
    assert api.get(f"{api.hist}/abc/status").status_code == 404


def test_json_data_is_capped_at_10000_but_csv_is_not() -> None:
    sim = Simulator(SimConfig.single(seed=2, now=NOW, scale=3000, summary_polls_to_done=0))
    with sim.serve() as server:
        api = Api(server.base_url)
        created = api.post(
            f"{api.hist}/",
            json={
                "type": AGENT_STATUS,
                "title": "All status changes",
                "dateRange": {"start": "2026-03-09T00:00:00.000Z", "end": "2026-03-10T12:59:59.999Z"},
            },
        )
        report = created.json()["id"]
        assert api.get(f"{api.hist}/{report}/status").json()["status"] == "DONE"
        page = api.get(f"{api.hist}/{report}/data", params={"size": 1000, "page": 9})
        assert page.headers["X-Total-Elements"] == "10000"
        assert page.headers["X-Total-Pages"] == "10"
        assert "Link" not in page.headers
        lines = (
            api.get(f"{api.hist}/{report}/download", headers=api.headers(Accept="*/*"))
            .text.strip()
            .splitlines()
        )
        assert len(lines) - 1 > 10_000


def test_agent_summary_and_grand_total(api: Api) -> None:
    created = api.post(
        f"{api.hist}",
        json={
            "type": "agent-status-time-on-status",
            "title": "Agent time",
            "dateRange": {"start": "2026-03-10T08:00:00.000Z", "end": "2026-03-10T09:59:59.999Z"},
            "granularity": "hour",
            "groupBy": {"name": "agent"},
            "metrics": ["availableTime", "loggedInTime"],
            "includeGrandTotal": True,
        },
    )
    report = created.json()["id"]
    for _ in range(3):
        api.get(f"{api.hist}/{report}/status")
    rows = api.get(f"{api.hist}/{report}/data", params={"size": 1000}).json()
    assert rows[-1]["total"]["type"] == "grandtotal"
    body_rows = [{i["key"]: i["value"] for i in r["items"]} for r in rows[:-1]]
    total = {i["key"]: i["value"] for i in rows[-1]["items"]}
    assert int(total["loggedInTime"]) == sum(int(r["loggedInTime"]) for r in body_rows)
    for row in body_rows:
        assert 0 < int(row["loggedInTime"]) <= 3_600_000
        assert int(row["availableTime"]) <= int(row["loggedInTime"])
