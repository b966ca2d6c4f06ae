"""Fault injection (each kind visible in responses and the request log) and the ``/_sim`` admin API."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import requests

from acdflow_dev.sim import FaultSpec, SimConfig, SimServer, Simulator
from acdflow_dev.sim.faults import FaultInjector

from .helpers import AGENT_STATUS, INTERACTIONS, NOW, Api, body, items

WINDOW = ("2026-03-10T08:00:00.000Z", "2026-03-10T09:59:59.999Z")


@pytest.fixture
def fresh() -> Simulator:
    return Simulator(SimConfig.single(seed=21, now=NOW, scale=1500))


def test_fault_spec_grammar() -> None:
    spec = FaultSpec.parse(
        " rate=0.05; kinds=429,500,reset ;retry_after=3;latency_ms=10;failed_reports=2;seed=4 "
    )
    assert spec.rate == 0.05
    assert spec.kinds == ("429", "500", "reset")
    assert (spec.retry_after, spec.latency_ms, spec.failed_reports, spec.seed) == (3, 10, 2, 4)
    assert FaultSpec.parse("") == FaultSpec(text="")
    for bad in ("rate=2", "kinds=418", "nonsense", "foo=1", "latency_ms=-1", "malformed_kinds=zzz"):
        with pytest.raises(ValueError, match="bad fault spec"):
            FaultSpec.parse(bad)


def test_fail_next_statuses_and_log(fresh: Simulator) -> None:
    with fresh.serve() as server:
        api = Api(server.base_url)
        url = f"{api.rt}/agents"
        api.token  # noqa: B018 - fetch before arming the faults
        fresh.faults.fail_next([503, 502, 500, 504, 429])
        statuses = [api.get(url, params={"summary": "true"}) for _ in range(6)]
        assert [r.status_code for r in statuses] == [503, 502, 500, 504, 429, 200]
        assert statuses[4].headers["Retry-After"] == "1"
        assert statuses[4].json()["fault"]["detail"]["errorcode"] == "policies.ratelimit.SpikeArrestViolation"
        assert "fault" in statuses[0].json()
        log = [r for r in fresh.request_log() if r.path.endswith("/agents")]
        assert [(r.status, r.fault) for r in log] == [
            (503, "503"), (502, "502"), (500, "500"), (504, "504"), (429, "429"), (200, None)
        ]  # fmt: skip
        assert all(r.finished_at >= r.started_at for r in log)
        assert log[-1].query == "summary=true"
        assert log[-1].tenant_id == "acmecorp01"


def test_fail_next_path_filter_and_token_endpoint(fresh: Simulator) -> None:
    with fresh.serve() as server:
        api = Api(server.base_url)
        fresh.faults.fail_next([503], path_contains="/detailed-reports")
        assert api.get(f"{api.rt}/agents", params={"summary": "true"}).status_code == 200
        assert api.create(body(INTERACTIONS, *WINDOW)).status_code == 503
        fresh.faults.fail_next([500])
        assert api.fetch_token().status_code == 500
        assert api.fetch_token().status_code == 200


def test_latency_and_reset(fresh: Simulator) -> None:
    with fresh.serve() as server:
        api = Api(server.base_url)
        api.token  # noqa: B018
        fresh.faults.configure("latency_ms=300")
        started = time.monotonic()
        assert api.get(f"{api.rt}/agents", params={"summary": "true"}).status_code == 200
        assert time.monotonic() - started >= 0.3
        assert fresh.request_log()[-1].fault == "latency"
        fresh.faults.clear()
        fresh.faults.fail_next(["reset"])
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"{api.rt}/agents", params={"summary": "true"}, headers=api.headers(), timeout=5)
        record = fresh.request_log()[-1]
        assert (record.fault, record.status) == ("reset", 0)
        assert api.get(f"{api.rt}/agents", params={"summary": "true"}).status_code == 200


def test_revocation_mid_pagination(fresh: Simulator) -> None:
    with fresh.serve() as server:
        api = Api(server.base_url)
        report = api.create_id(body(INTERACTIONS, *WINDOW, metrics=["interactionId", "time"]))
        first = api.data(report, size=10)
        cursor = first.headers["Last-Document-Id"]
        fresh.faults.fail_next(["revoke"])
        revoked = api.data(report, size=10, lastDocumentId=cursor)
        assert revoked.status_code == 401
        assert revoked.json()["fault"]["faultstring"] == "Invalid access token"
        assert api.data(report, size=10, lastDocumentId=cursor).status_code == 401  # the token is gone
        api._token = None
        resumed = api.data(report, size=10, lastDocumentId=cursor)
        assert resumed.status_code == 200
        revocations = [r for r in fresh.request_log() if r.fault == "revoke"]
        assert [(r.status, r.path.endswith("/data")) for r in revocations] == [(401, True)]


def test_rate_based_faults_are_seeded_and_logged(fresh: Simulator) -> None:
    def run() -> list[int]:
        sim = Simulator(SimConfig.single(seed=21, now=NOW, scale=200, faults="rate=0.5;kinds=503,429;seed=9"))
        with sim.serve() as server:
            api = Api(server.base_url)
            api._token = sim.issue_token()[0]
            codes = [api.get(f"{api.rt}/agents", params={"summary": "true"}).status_code for _ in range(30)]
            assert [r.status for r in sim.request_log()] == codes
            assert all((r.fault is None) == (r.status == 200) for r in sim.request_log())
            return codes

    first, second = run(), run()
    assert first == second
    assert {503, 429, 200} <= set(first)


def test_rate_limit_per_minute(fresh: Simulator) -> None:
    fresh.faults.configure("rate_limit_per_minute=3;retry_after=7")
    with fresh.serve() as server:
        api = Api(server.base_url)
        api._token = fresh.issue_token()[0]
        codes = [api.get(f"{api.rt}/agents", params={"summary": "true"}) for _ in range(5)]
        assert [c.status_code for c in codes] == [200, 200, 200, 429, 429]
        assert codes[3].headers["Retry-After"] == "7"


def test_failed_reports(fresh: Simulator) -> None:
    fresh.faults.configure("failed_reports=1")
    with fresh.serve() as server:
        api = Api(server.base_url)
        failed = api.create(body(INTERACTIONS, *WINDOW))
        assert failed.status_code == 200
        assert failed.json()["status"] == "FAILED"
        assert failed.json()["reason"]
        assert "Link" not in failed.headers
        data = api.data(failed.json()["id"])
        assert data.status_code == 400
        assert data.json() == {"message": "Bad request: Report failed"}
        assert api.create(body(INTERACTIONS, *WINDOW)).json()["status"] == "DONE"
        fresh.faults.configure("failed_report_rate=1")
        assert api.create(body(INTERACTIONS, *WINDOW)).json()["status"] == "FAILED"


def test_malformed_rows_are_deterministic_and_listed_by_ground_truth(fresh: Simulator) -> None:
    fresh.faults.configure("malformed_rate=0.2;seed=5")
    with fresh.serve() as server:
        api = Api(server.base_url)
        fields = ["interactionId", "time", "queueTime", "queueName", "queueId", "mediaType", "direction"]
        spec = body(INTERACTIONS, *WINDOW, metrics=fields)
        first, _ = api.all_rows(api.create_id(spec))
        second, _ = api.all_rows(api.create_id(spec))
        assert first == second
        kinds: dict[str, str] = {}
        for row in first:
            values = items(row)
            iid = values["interactionId"]
            if not {"queueTime", "mediaType", "direction"} <= set(values):
                kinds[iid] = "missing_keys"
            elif values["mediaType"] == "Fax":
                kinds[iid] = "unknown_media"
            elif values["queueTime"] == "Invalid date":
                kinds[iid] = "bad_timestamp"
            elif values["queueTime"] and not values["queueTime"].endswith(("-07:00", "-08:00")):
                kinds[iid] = "naive_timestamp"
        truth = fresh.ground_truth()
        start, end = datetime(2026, 3, 10, 15, 10, tzinfo=UTC), datetime(2026, 3, 10, 16, 50, tzinfo=UTC)
        rejected = {r.interaction_id: r.kind for r in truth.rejected_interactions(start, end)}
        filtered = {r.interaction_id for r in truth.filtered_by_malformation(start, end)}
        assert rejected
        assert filtered
        assert set(rejected.values()) == {"missing_keys", "unknown_media", "bad_timestamp", "naive_timestamp"}
        for iid, kind in rejected.items():
            assert kinds[iid] == kind
        clean = {t.interaction_id for t in truth.interactions(start, end)}
        assert clean.isdisjoint(rejected)
        assert clean.isdisjoint(filtered)
        for iid in filtered:
            assert items(next(r for r in first if items(r)["interactionId"] == iid))["queueName"] is None
        status_rows, _ = api.all_rows(api.create_id(body(AGENT_STATUS, *WINDOW)))
        missing_agent = [r for r in status_rows if "agentId" not in items(r)]
        bad_time = [r for r in status_rows if items(r).get("time") == "Invalid date"]
        assert missing_agent
        assert bad_time
        assert len(truth.rejected_agent_statuses(start, end)) > 0


def test_faults_never_touch_admin(fresh: Simulator) -> None:
    fresh.faults.configure("rate=1;kinds=503")
    with fresh.serve() as server:
        assert requests.get(f"{server.base_url}/_sim/health", timeout=5).status_code == 200
        assert requests.get(f"{server.base_url}/_sim/requests", timeout=5).json() == []


def test_admin_endpoints(server: SimServer, sim: Simulator) -> None:
    base = f"{server.base_url}/_sim"
    requests.delete(f"{base}/requests", timeout=5)
    assert requests.get(f"{base}/health", timeout=5).json()["status"] == "ok"
    api = Api(server.base_url)
    api.get(f"{api.rt}/agents", params={"summary": "true"})
    log = requests.get(f"{base}/requests", timeout=5).json()
    assert [r["path"] for r in log] == ["/oauth/v2/token", "/analytics/cc/v5/realtime-metrics/agents"]
    assert set(log[0]) == {
        "method",
        "path",
        "query",
        "status",
        "started_at",
        "finished_at",
        "tenant_id",
        "fault",
    }
    assert requests.delete(f"{base}/requests", timeout=5).status_code == 200
    assert requests.get(f"{base}/requests", timeout=5).json() == []
    clock = requests.put(f"{base}/clock", json={"now": "2026-03-10T21:00:00Z"}, timeout=5).json()
    assert clock == {"now": "2026-03-10T21:00:00+00:00", "fixed": True}
    advanced = requests.put(f"{base}/clock", json={"advance_seconds": 90}, timeout=5).json()
    assert advanced["now"] == "2026-03-10T21:01:30+00:00"
    real = requests.put(f"{base}/clock", json={"real": True}, timeout=5).json()
    assert real["fixed"] is False
    assert abs(datetime.fromisoformat(real["now"]).timestamp() - time.time()) < 5
    requests.put(f"{base}/clock", json={"now": NOW.isoformat()}, timeout=5)
    assert sim.clock.now() == NOW
    faults = requests.put(f"{base}/faults", json={"spec": "rate=0.1;kinds=503"}, timeout=5).json()
    assert faults["spec"] == "rate=0.1;kinds=503"
    armed = requests.put(
        f"{base}/faults", json={"fail_next": [503], "path_contains": "/agents"}, timeout=5
    ).json()
    assert armed["fail_next"] == [{"kind": "503", "path_contains": "/agents"}]
    assert requests.put(f"{base}/faults", json={"spec": "rate=7"}, timeout=5).status_code == 400
    assert requests.put(f"{base}/faults", json={"clear": True}, timeout=5).json()["spec"] == ""
    token = api.token
    assert requests.post(f"{base}/revoke-tokens", timeout=5).json() == {"revoked": True}
    assert api.get(f"{api.rt}/agents", params={"summary": "true"}).status_code == 401
    assert token
    assert requests.get(f"{base}/nope", timeout=5).status_code == 404
    assert all(not r.path.startswith("/_sim") for r in sim.request_log())


def test_latency_ms_with_a_rate_delays_only_the_latency_faults() -> None:
    injector = FaultInjector(1, "rate=0.2;kinds=latency,503;latency_ms=700;seed=9")
    decisions = [injector.decide("/api/v1/agents", token_endpoint=False) for _ in range(500)]
    delayed = [d for d in decisions if d.latency_ms]
    untouched = [d for d in decisions if d.kind is None]
    # About a tenth are latency faults (rate 0.2, two kinds); the rest are not slowed down.
    assert 20 < len(delayed) < 90
    assert all(d.kind == "latency" and d.latency_ms == 700 for d in delayed)
    assert len(untouched) > 300
    assert all(d.latency_ms == 0 for d in untouched)
    alone = FaultInjector(1, "latency_ms=700")
    assert all(alone.decide("/api/v1/agents", token_endpoint=False).latency_ms == 700 for _ in range(20))
