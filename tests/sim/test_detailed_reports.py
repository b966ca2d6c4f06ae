"""Detailed reports: validation, pagination and cursors, snapshots, row rendering, searchQuery."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from acdflow_dev.sim import SimConfig, Simulator

from .helpers import AGENT_STATUS, INTERACTIONS, NOW, Api, body, items, parse_ts, report_fields

MS = timedelta(milliseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MORNING = ("2026-03-10T08:00:00.000Z", "2026-03-10T08:59:59.999Z")  # PDT wall clock (quirk)
LABELS = dict(report_fields(INTERACTIONS))
STATUS_LABELS = dict(report_fields(AGENT_STATUS))


def _create_error(api: Api, payload: Any) -> str:
    response = api.post(f"{api.hist}/detailed-reports", json=payload)
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert message.startswith("Bad request: ")
    return str(message)


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ({"type": "nope"}, "type"),
        ({"title": None}, "title"),
        ({"title": "Bad: colon"}, "not allowed"),
        ({"title": "x" * 256}, "255"),
        ({"dateRange": None}, "dateRange"),
        ({"dateRange": {"start": "2026-03-10T08:00:00.000Z"}}, "dateRange.end"),
        ({"dateRange": {"start": "yesterday", "end": "2026-03-10T08:00:00.000Z"}}, "dateRange.start"),
        ({"dateRange": {"start": "2026-03-10T09:00:00.000Z", "end": "2026-03-10T08:00:00.000Z"}}, "before"),
        ({"timezone": "Europe/Paris"}, "Timezone"),
        ({"intraDayTimeRange": {"start": "08:00:00"}}, "intraDayTimeRange"),
        ({"intraDayTimeRange": {"start": "08:00:00", "end": "08:04:59"}}, "5 minutes"),
        ({"intraDayTimeRange": {"start": "8am", "end": "09:00:00"}}, "hh:mm:ss"),
        ({"metrics": ["queueName", "nope"]}, "nope"),
        ({"searchQuery": [{"field": "time", "operator": "in", "value": ["x"]}]}, "not filterable"),
        ({"searchQuery": [{"field": "queueName", "operator": ">", "value": "1"}]}, "Operator"),
        ({"searchQuery": [{"field": "interactionDuration", "operator": "in", "value": ["1"]}]}, "Operator"),
        ({"searchQuery": [{"field": "bogus", "operator": "in", "value": ["1"]}]}, "bogus"),
        ({"searchQuery": [{"field": "queueName", "operator": "in"}]}, "value"),
        ({"searchQuery": "queueName"}, "searchQuery"),
        ({"includeParticipants": "yes"}, "includeParticipants"),
    ],
)
def test_create_validation(api: Api, patch: dict[str, Any], needle: str) -> None:
    payload = body(INTERACTIONS, *MORNING)
    payload.update(patch)
    if patch.get("title", "") is None:
        del payload["title"]
    assert needle in _create_error(api, payload)


def test_create_validation_more(api: Api) -> None:
    assert "includeParticipants" in _create_error(api, body(AGENT_STATUS, *MORNING, includeParticipants=True))
    response = api.post(f"{api.hist}/detailed-reports", data="{not json", headers=api.headers())
    assert response.status_code == 400
    assert "JSON" in response.json()["message"]
    assert "JSON object" in _create_error(api, [1, 2])


def test_create_accepts_what_8x8_documents(api: Api) -> None:
    ok = body(
        INTERACTIONS,
        *MORNING,
        timezone="UTC",
        metrics=["queueName", "queueName", "time"],
        intraDayTimeRange={"start": "20:00:00", "end": "06:00:00.000"},
        granularity="15m",  # unknown/summary-only fields are ignored (8x8 is silent; our choice)
        title="Report (v2) - test_1.*!'",
        searchQuery=[{"field": "queueName", "operator": "is-not-empty"}],
    )
    response = api.create(ok)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "DONE"
    assert set(response.json()) == {"id", "status"}
    link = response.headers["Link"]
    report_id = response.json()["id"]
    assert re.fullmatch(rf'<http://127\.0\.0\.1:\d+/analytics/cc/v8/historical-metrics/detailed-reports/{report_id}'
                        r'/data\?size=100>; rel="data"', link)  # fmt: skip
    rows, _ = api.all_rows(report_id)
    for row in rows:
        assert [i["key"] for i in row["items"]] == ["time", "queueName"]


def _ids_and_times(rows: list[dict[str, Any]]) -> list[tuple[datetime, str]]:
    out = []
    for row in rows:
        values = items(row)
        out.append((parse_ts(values["time"]), values["interactionId"]))
    return out


def test_pagination_many_pages_and_headers(api: Api) -> None:
    report = api.create_id(body(INTERACTIONS, *MORNING, metrics=["interactionId", "time"]))
    everything, one_page = api.all_rows(report, size=1000)
    assert one_page == 1
    total = len(everything)
    assert total > 25
    first = api.data(report)  # default size 100
    assert first.headers["X-Page-Size"] == "100"
    size = 7
    pages = 0
    cursor = None
    seen: list[dict[str, Any]] = []
    while True:
        params: dict[str, Any] = {"size": size}
        if cursor is not None:
            params["lastDocumentId"] = cursor
        response = api.data(report, **params)
        pages += 1
        assert response.headers["X-Page-Size"] == str(size)
        assert response.headers["X-Total-Elements"] == str(total)
        assert response.headers["X-Total-Pages"] == str(-(-total // size))
        assert "X-Page" not in response.headers
        page = response.json()
        seen.extend(page)
        cursor = response.headers.get("Last-Document-Id")
        if cursor is None:
            assert "Link" not in response.headers
            break
        assert len(page) == size
        decoded = json.loads(base64.b64decode(cursor))
        last = items(page[-1])
        assert decoded["searchAfter"][0] == (parse_ts(last["time"]) - EPOCH) // MS
        expected_link = (
            f"<{api.hist}/detailed-reports/{report}/data?size={size}"
            f"&lastDocumentId={quote(cursor, safe='')}>; "
            'rel="next"'
        )
        assert response.headers["Link"] == expected_link
    assert pages == -(-total // size)
    assert seen == everything
    ordered = _ids_and_times(seen)
    assert [t for t, _ in ordered] == sorted((t for t, _ in ordered), reverse=True)
    assert len({i for _, i in ordered}) == total


def test_two_pages_exactly(api: Api) -> None:
    report = api.create_id(body(INTERACTIONS, *MORNING, metrics=["interactionId", "time"]))
    total = int(api.data(report, size=1000).headers["X-Total-Elements"])
    size = -(-total // 2)
    first = api.data(report, size=size)
    assert first.headers["X-Total-Pages"] == "2"
    second = api.data(report, size=size, lastDocumentId=first.headers["Last-Document-Id"])
    assert "Last-Document-Id" not in second.headers
    assert len(first.json()) + len(second.json()) == total


def test_cursor_forms_and_errors(api: Api) -> None:
    report = api.create_id(body(INTERACTIONS, *MORNING, metrics=["interactionId", "time"]))
    first = api.data(report, size=3)
    cursor = first.headers["Last-Document-Id"]
    expected = api.data(report, size=3, lastDocumentId=cursor).json()
    raw_url = f"{api.hist}/detailed-reports/{report}/data?size=3&lastDocumentId={cursor}"
    assert api.get(raw_url).json() == expected  # raw base64 with '=' in the query
    encoded_url = f"{api.hist}/detailed-reports/{report}/data?size=3&lastDocumentId={quote(cursor, safe='')}"
    assert api.get(encoded_url).json() == expected
    link_url = first.headers["Link"][1:].split(">;")[0]
    assert api.get(link_url).json() == expected
    for bad in (
        "garbage",
        base64.b64encode(b'{"searchAfter":["a",1]}').decode(),
        base64.b64encode(b"[1,2]").decode(),
    ):
        response = api.data(report, size=3, lastDocumentId=bad)
        assert response.status_code == 400
        assert response.json() == {"message": "Bad request: Invalid lastDocumentId"}


@pytest.mark.parametrize(
    ("size", "message"),
    [
        (1001, "Bad request: Field 'size' must be less than or equal to 1000"),
        (0, "Bad request: Field 'size' must be greater than or equal to 1"),
        ("ten", "Bad request: Field 'size' must be a number"),
    ],
)
def test_size_errors(api: Api, size: object, message: str) -> None:
    report = api.create_id(body(INTERACTIONS, *MORNING, metrics=["time"]))
    response = api.data(report, size=size)
    assert response.status_code == 400
    assert response.json() == {"message": message}


def test_empty_report_and_unknown_ids(api: Api) -> None:
    future = api.create_id(body(INTERACTIONS, "2026-03-11T08:00:00.000Z", "2026-03-11T09:00:00.000Z"))
    response = api.data(future)
    assert response.status_code == 200
    assert response.json() == []
    assert response.headers["X-Total-Pages"] == "0"
    assert response.headers["X-Total-Elements"] == "0"
    assert "Last-Document-Id" not in response.headers
    missing = api.data(99)
    assert missing.status_code == 404
    assert missing.json() == {"message": "Not found"}


def test_snapshot_is_immutable_and_expires_after_24_hours() -> None:
    sim = Simulator(SimConfig.single(seed=9, now=NOW, scale=1000))
    with sim.serve() as server:
        api = Api(server.base_url)
        window = ("2026-03-10T12:30:00.000Z", "2026-03-10T13:00:00.000Z")  # ends at "now" (13:00 PDT)
        report = api.create_id(body(INTERACTIONS, *window, metrics=["interactionId", "time", "finishedTime"]))
        before, _ = api.all_rows(report)
        sim.clock.advance(timedelta(hours=2))  # interactions ongoing at creation have finished by now
        api._token = None  # the old token expired with the clock jump
        after, _ = api.all_rows(report)
        assert after == before
        fresh = api.create_id(body(INTERACTIONS, *window, metrics=["interactionId", "time", "finishedTime"]))
        assert len(api.all_rows(fresh)[0]) > len(before)
        sim.clock.advance(timedelta(hours=22, seconds=1))
        api._token = None
        assert api.data(report).status_code == 404
        assert api.data(fresh).status_code == 200
        assert report >= 2_700_000
        assert fresh > report


def test_nothing_after_now_and_no_ongoing_by_default(api: Api, sim: Simulator) -> None:
    report = api.create_id(
        body(INTERACTIONS, "2026-03-10T11:00:00.000Z", "2026-03-10T23:59:59.999Z", includeParticipants=True)
    )
    rows, _ = api.all_rows(report)
    assert rows
    now = sim.clock.now()
    for row in rows:
        values = items(row)
        assert parse_ts(values["time"]) <= now
        assert values["finishedTime"]["ongoing"] is False
        assert parse_ts(values["finishedTime"]["value"]) <= now
        for participant in values["participants"]:
            for key in ("participantOfferTime", "participantWrapUpEndTime", "participantHandlingEndTime"):
                if participant[key] is not None:
                    assert parse_ts(participant[key]) <= now


def test_show_ongoing_interactions(api: Api, sim: Simulator) -> None:
    window = ("2026-03-10T12:00:00.000Z", "2026-03-10T13:00:00.000Z")
    plain, _ = api.all_rows(api.create_id(body(INTERACTIONS, *window)))
    ongoing_report = api.create_id(
        body(
            INTERACTIONS, *window, includeParticipants=True, reportSettings={"showOngoingInteractions": True}
        )
    )
    with_ongoing, _ = api.all_rows(ongoing_report)
    assert len(with_ongoing) > len(plain)
    ongoing_rows = [items(r) for r in with_ongoing if items(r)["finishedTime"]["ongoing"]]
    assert ongoing_rows
    now = sim.clock.now()
    for values in ongoing_rows:
        assert values["finishedTime"]["value"] is None
        assert values["outcome"] is None
        assert values["state"] != "Finished"
        assert values["interactionDuration"]["ongoing"] is True
        expected = (now - parse_ts(values["time"])) // MS
        assert values["interactionDuration"]["value"] == expected
        for participant in values["participants"]:
            assert parse_ts(participant["participantOfferTime"]) <= now


def test_row_rendering_interactions(api: Api) -> None:
    report = api.create_id(body(INTERACTIONS, *MORNING, includeParticipants=True))
    rows, _ = api.all_rows(report)
    multi_accept = 0
    for row in rows:
        assert row["total"] is None
        keys = [i["key"] for i in row["items"]]
        assert keys[:2] == ["participants", "time"]
        assert keys[2:] == sorted(keys[2:])
        assert len(keys) == 96
        for item in row["items"][1:]:
            assert item["label"] == LABELS[item["key"]]
        values = items(row)
        offset_ts = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-07:00$")
        assert offset_ts.match(values["time"])
        assert values["creationTime"] == values["time"]
        for count in (
            "blindTransferToAgent",
            "participantHold",
            "warmTransfersCompleted",
            "participantAssignNumber",
        ):
            assert values[count] is None or isinstance(values[count], str)
        assert isinstance(values["interactionLabels"], list)
        assert ("Handled" in values["interactionLabels"]) == any(
            p["participantOfferAction"] == "Accepted" for p in values["participants"]
        )
        if values["queueName"] is None:
            assert values["queueTime"] is None
            assert "Queued" not in values["interactionLabels"]
        assert f"-{values['mediaType'].lower()}-" in values["interactionId"]
        participants = values["participants"]
        if not participants:
            assert values["participantId"] is None
            continue
        for p in participants:
            assert isinstance(p["participantAssignNumber"], int)
            assert isinstance(p["participantHold"], int)
            assert isinstance(p["participantHoldDuration"], int)
            if p["participantHandlingDuration"] is not None:
                handling = parse_ts(p["participantHandlingEndTime"]) - parse_ts(
                    p["participantOfferActionTime"]
                )
                assert p["participantHandlingDuration"]["value"] == handling // MS
            offer = parse_ts(p["participantOfferActionTime"]) - parse_ts(p["participantOfferTime"])
            assert p["participantOfferDuration"]["value"] == offer // MS
        assert isinstance(values["participantId"], list)
        assert values["participantOfferAction"] == list(
            dict.fromkeys(p["participantOfferAction"] for p in reversed(participants))
        )
        assert values["participantAssignNumber"] == str(
            max(p["participantAssignNumber"] for p in participants)
        )
        offer_times = [parse_ts(p["participantOfferTime"]) for p in participants]
        assert parse_ts(values["participantOfferTime"]) == min(offer_times)
        if sum(p["participantOfferAction"] == "Accepted" for p in participants) >= 2:
            multi_accept += 1
        accepted = [p for p in participants if p["participantOfferAction"] == "Accepted"]
        if accepted and values["queueTime"]:
            first = min(parse_ts(p["participantOfferActionTime"]) for p in accepted)
            wait = first - parse_ts(values["queueTime"])
            assert values["queueWaitDuration"]["value"] == wait // MS
    assert len(rows) > 50
    assert multi_accept >= 1


def test_legacy_durations_camel_case_and_array_create() -> None:
    config = SimConfig.single(
        seed=5, now=NOW, scale=800, legacy_duration_strings=True, agent_status_case="camel",
        detailed_create_as_array=True,
    )  # fmt: skip
    with Simulator(config).serve() as server:
        api = Api(server.base_url)
        created = api.create(body(INTERACTIONS, *MORNING, includeParticipants=True))
        assert isinstance(created.json(), list)
        assert created.json()[0]["status"] == "DONE"
        rows, _ = api.all_rows(created.json()[0]["id"])
        values = items(next(r for r in rows if items(r)["participants"]))
        assert re.fullmatch(r"\d+:\d\d:\d\d", values["interactionDuration"])
        assert isinstance(values["finishedTime"], str)
        assert re.fullmatch(r"\d+:\d\d:\d\d", values["participants"][0]["participantOfferDuration"])
        status = api.post(f"{api.hist}/detailed-reports", json=body(AGENT_STATUS, *MORNING)).json()[0]["id"]
        statuses = {items(r)["status"] for r in api.all_rows(status)[0]}
        assert "onBreak" in statuses
        assert "loggedIn" in statuses or "available" in statuses
        assert all(s[0].islower() for s in statuses)


def test_agent_status_rows(api: Api) -> None:
    report = api.create_id(body(AGENT_STATUS, *MORNING))
    rows, _ = api.all_rows(report)
    assert len(rows) > 100
    for row in rows:
        keys = [i["key"] for i in row["items"]]
        assert keys[0] == "time"
        assert keys[1:] == sorted(keys[1:])
        assert len(keys) == 14
        for item in row["items"]:
            assert item["label"] == STATUS_LABELS[item["key"]]
        values = items(row)
        assert values["agentId"].startswith("ag")
        assert len(values["agentId"]) == 24
        if values["statusCode"] is not None:
            assert values["status"] in ("OnBreak", "WorkingOffline", "LoggedOut")
    keys = [(items(r)["agentId"], items(r)["time"], items(r)["status"]) for r in rows]
    assert len(keys) > len(set(keys))  # exact duplicates exist


def _filtered(api: Api, query: list[dict[str, Any]], report_type: str = INTERACTIONS) -> list[dict[str, Any]]:
    report = api.create_id(body(report_type, *MORNING, searchQuery=query))
    return [items(r) for r in api.all_rows(report)[0]]


def test_search_query(api: Api) -> None:
    everything = _filtered(api, [])
    queued = _filtered(api, [{"field": "queueName", "operator": "is-not-empty"}])
    assert 0 < len(queued) < len(everything)
    assert all(v["queueName"] for v in queued)
    unqueued = _filtered(api, [{"field": "queueName", "operator": "is-empty", "value": "ignored"}])
    assert len(queued) + len(unqueued) == len(everything)
    inbound = _filtered(api, [{"field": "direction", "operator": "in", "value": ["inbound"]}])
    assert inbound
    assert {v["direction"] for v in inbound} == {"InboundDir"}
    assert len(_filtered(api, [{"field": "direction", "operator": "in", "value": ["InboundDir"]}])) == len(
        inbound
    )
    not_inbound = _filtered(api, [{"field": "direction", "operator": "not-in", "value": ["INBOUND"]}])
    assert len(inbound) + len(not_inbound) == len(everything)
    voicemail = _filtered(api, [{"field": "mediaType", "operator": "in", "value": ["voiceMail"]}])
    assert {v["mediaType"] for v in voicemail} == {"VoiceMail"}
    handled = _filtered(api, [{"field": "interactionLabels", "operator": "in", "value": ["handled"]}])
    assert handled
    assert all("Handled" in v["interactionLabels"] for v in handled)
    chat = _filtered(api, [{"field": "queueName", "operator": "contains", "value": "chat"}])
    assert chat
    assert all("chat" in v["queueName"].lower() for v in chat)
    both = _filtered(
        api,
        [
            {"field": "queueName", "operator": "contains", "value": "chat"},
            {"field": "interactionLabels", "operator": "not-in", "value": ["Handled"]},
        ],
    )
    assert {v["interactionId"] for v in both} == {
        v["interactionId"] for v in chat if "Handled" not in v["interactionLabels"]
    }
    long = _filtered(api, [{"field": "interactionDuration", "operator": ">", "value": "5m"}])
    assert long
    assert all(v["interactionDuration"]["value"] > 300_000 for v in long)
    short = _filtered(api, [{"field": "interactionDuration", "operator": "<=", "value": "300000"}])
    assert len(long) + len(short) == len(everything)
    assert _filtered(api, [{"field": "queueName", "operator": "in", "value": ["support en"]}]) == []
    exact = _filtered(api, [{"field": "queueName", "operator": "in", "value": ["Support EN"]}])
    assert exact
    assert {v["queueName"] for v in exact} == {"Support EN"}


def test_search_query_agent_status(api: Api) -> None:
    everything = _filtered(api, [], AGENT_STATUS)
    two = sorted({v["agentId"] for v in everything})[:2]
    chosen = _filtered(api, [{"field": "agentId", "operator": "in", "value": two}], AGENT_STATUS)
    assert {v["agentId"] for v in chosen} == set(two)
    assert len(chosen) == sum(1 for v in everything if v["agentId"] in two)
    breaks = _filtered(api, [{"field": "status", "operator": "in", "value": ["onBreak"]}], AGENT_STATUS)
    assert breaks
    assert {v["status"] for v in breaks} == {"OnBreak"}


def test_intraday_time_range(api: Api) -> None:
    report = api.create_id(
        body(
            INTERACTIONS,
            "2026-03-09T00:00:00.000Z",
            "2026-03-10T23:59:59.999Z",
            metrics=["time", "interactionId"],
            intraDayTimeRange={"start": "22:00:00", "end": "02:00:00"},
        )
    )
    rows, _ = api.all_rows(report)
    assert rows
    for row in rows:
        local = datetime.fromisoformat(items(row)["time"])
        assert local.hour >= 22 or local.hour < 2 or (local.hour, local.minute, local.second) == (2, 0, 0)


def test_now_boundary_is_exclusive_of_future(sim: Simulator, api: Api) -> None:
    report = api.create_id(body(AGENT_STATUS, "2026-03-10T12:00:00.000Z", "2026-03-10T18:00:00.000Z"))
    rows, _ = api.all_rows(report)
    latest = max(parse_ts(items(r)["time"]) for r in rows)
    assert latest <= NOW
    assert latest > NOW - timedelta(minutes=10)
    assert sim.clock.now() == NOW
    assert NOW.tzinfo is UTC
