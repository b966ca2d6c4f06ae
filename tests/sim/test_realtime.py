"""Realtime ``/agents``: parameters, paging, errors, summary, totals."""

from __future__ import annotations

import pytest

from acdflow_dev.sim import Simulator
from acdflow_dev.sim.catalog import REALTIME_AGENT_METRICS

from .helpers import Api

LIVE = ["status.rt", "statusCode.rt", "timeOnStatus.rt", "lastLogin.rt", "lastLogout.rt", "loggedInTime.rt"]


def _agents(api: Api, params: object) -> list[dict[str, object]]:
    response = api.get(f"{api.rt}/agents", params=params)
    assert response.status_code == 200, response.text
    return list(response.json())


def test_paging_headers_and_order(api: Api, sim: Simulator) -> None:
    count = len(sim.tenant_state().world.agents)
    size = 7
    pages = -(-count // size)
    ids: list[str] = []
    for page in range(pages):
        response = api.get(f"{api.rt}/agents", params={"metrics": LIVE, "page": page, "size": size})
        assert response.headers["X-Page"] == str(page)
        assert response.headers["X-Page-Size"] == str(size)
        assert response.headers["X-Total-Pages"] == str(pages)
        assert response.headers["X-Total-Elements"] == str(count)
        assert "Link" not in response.headers
        ids += [agent["id"] for agent in response.json()]
    assert ids == sorted(ids)
    assert len(set(ids)) == count
    past = api.get(f"{api.rt}/agents", params={"metrics": LIVE, "page": pages, "size": size})
    assert past.status_code == 400
    assert past.json() == {
        "message": "Bad request: Field 'page' must be greater than or equal to 0 and less than the total "
        f"number of pages, which is {pages} for this request"
    }
    assert api.get(f"{api.rt}/agents", params={"metrics": LIVE, "page": -1}).status_code == 400


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"metrics": "status.rt", "size": 5000},
            "Bad request: Field 'size' must be less than or equal to 1000",
        ),
        ({"metrics": "status.rt", "size": 0}, "Bad request: Field 'size' must be greater than or equal to 1"),
        ({"metrics": "status.rt,nope.rt"}, "Bad request: Unknown metric nope.rt"),
        ({"metrics": "status.rt.inQueue"}, "Bad request: Unknown metric status.rt.inQueue"),
        ({"metrics": "status.rt", "agent-ids": "agNOPE"}, "Bad request: Invalid agent-ids"),
        ({"metrics": "status.rt", "summary": "maybe"}, "Bad request: Field 'summary' must be a boolean"),
    ],
)
def test_errors(api: Api, params: dict[str, object], message: str) -> None:
    response = api.get(f"{api.rt}/agents", params=params)
    assert response.status_code == 400
    assert response.json() == {"message": message}


def test_metrics_both_forms_sorted_and_only_requested(api: Api) -> None:
    repeated = _agents(api, [("metrics", m) for m in LIVE] + [("size", 1000)])
    comma = _agents(api, {"metrics": ",".join(reversed(LIVE)), "size": 1000})
    mixed = _agents(
        api, [("metrics", "status.rt,statusCode.rt"), ("metrics", ",".join(LIVE[2:])), ("size", 1000)]
    )
    assert repeated == comma == mixed
    for agent in repeated:
        keys = [m["key"] for m in agent["metrics"]]  # type: ignore[index, union-attr]
        assert keys == sorted(LIVE)
        assert set(agent) == {"id", "name", "groupId", "groupName", "metrics"}


def test_agent_and_group_filters(api: Api) -> None:
    everyone = _agents(api, {"summary": "true", "size": 1000})
    chosen = [str(everyone[0]["id"]), str(everyone[3]["id"])]
    by_id = _agents(api, [("agent-ids", chosen[0]), ("agent-ids", chosen[1]), ("metrics", "status.rt")])
    assert [a["id"] for a in by_id] == sorted(chosen)
    assert _agents(api, {"agent-ids": ",".join(chosen), "metrics": "status.rt"}) == by_id
    group = str(everyone[0]["groupId"])
    in_group = _agents(api, {"group-ids": group, "metrics": "status.rt", "size": 1000})
    assert {a["id"] for a in in_group} == {a["id"] for a in everyone if a["groupId"] == group}


def test_summary_ignores_metrics_and_ids(api: Api) -> None:
    summary = _agents(api, {"summary": "true", "metrics": "nope.rt", "agent-ids": "agNOPE", "size": 1000})
    assert summary
    for agent in summary:
        assert set(agent) == {"id", "name", "groupId", "groupName"}


def test_all_metrics_when_omitted_and_value_types(api: Api) -> None:
    agents = _agents(api, {"size": 3})
    assert len(agents) == 3
    for agent in agents:
        metrics = {m["key"]: m["value"] for m in agent["metrics"]}  # type: ignore[union-attr]
        assert list(metrics) == sorted(REALTIME_AGENT_METRICS)
        assert len(metrics) == 144
        if metrics["lastLogin.rt"] is not None:
            assert str(metrics["lastLogin.rt"]).endswith("Z")
            assert isinstance(metrics["timeOnStatus.rt"], int)
            assert metrics["status.rt"] in {"Available", "Offering", "Handling", "WrapUp", "OnBreak",
                                            "WorkingOffline", "LoggedOut"}  # fmt: skip
        for key, value in metrics.items():
            if key.endswith("Percentage.today"):
                assert 0 <= float(value) <= 1  # type: ignore[arg-type]


def test_include_totals(api: Api, sim: Simulator) -> None:
    count = len(sim.tenant_state().world.agents)
    response = api.get(
        f"{api.rt}/agents",
        params={
            "metrics": "status.rt,accepted.today,availableTime.today",
            "includeTotals": "true",
            "size": 1000,
        },
    )
    body = response.json()
    assert response.headers["X-Total-Elements"] == str(count)
    assert len(body) == count + 1
    totals = body[-1]
    assert totals["id"] is None
    assert totals["name"] == "totals"
    values = {m["key"]: m["value"] for m in totals["metrics"]}
    assert set(values) == {"total.accepted.today", "total.availableTime.today"}
    accepted = sum(
        next(m["value"] for m in agent["metrics"] if m["key"] == "accepted.today") for agent in body[:-1]
    )
    assert values["total.accepted.today"] == accepted
    assert accepted > 0


def test_unknown_timezone_and_zero_results(api: Api) -> None:
    bad = api.get(f"{api.rt}/agents", params={"metrics": "status.rt", "timezone": "Mars/Base"})
    assert bad.status_code == 400
    none = api.get(f"{api.rt}/agents", params={"metrics": "status.rt", "group-ids": "999"})
    assert none.status_code == 200
    assert none.json() == []
    assert none.headers["X-Total-Pages"] == "0"
    assert (
        api.get(
            f"{api.rt}/agents", params={"metrics": "status.rt", "group-ids": "999", "page": 1}
        ).status_code
        == 400
    )
