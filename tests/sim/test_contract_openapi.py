"""Contract tests: response bodies validate against 8x8's OpenAPI response schemas.

The schemas are 8x8's published OpenAPI files, vendored unchanged in ``tests/data/8x8-openapi/`` (see
``SOURCE.md`` there). Where 8x8's own sources disagree with a response schema (its written guides and
examples, or the spec's own path parameters) and the simulator follows them, the test says so in its
name (``…__documented_deviation``), shows that the spec form really rejects the documented form, and
validates the documented form (``docs/8x8-api-notes.md`` lists these differences). The token endpoint
has no schema in either spec and is not validated here.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

from acdflow_dev.sim import SimConfig, Simulator

from .helpers import AGENT_STATUS, INTERACTIONS, NOW, OPENAPI_DIR, Api, body

HIST = "8x8-analytics-8x8-analytics-for-contact-center-historical-metrics-api.json"
RT = "8x8-analytics-8x8-analytics-for-contact-center-real-time-metrics-api.json"
WINDOW = ("2026-03-10T08:00:00.000Z", "2026-03-10T08:29:59.999Z")
# 8x8's detailed-report guide: a detailed value is null, a string, an array of strings, a
# {value, ongoing} object or an array of participant objects.
DOCUMENTED_DETAILED_VALUE: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "nullable": True},
        {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}},
        {"type": "object", "required": ["value", "ongoing"], "properties": {"ongoing": {"type": "boolean"}}},
    ],
}


@cache
def _spec(name: str) -> dict[str, Any]:
    return dict(json.loads((OPENAPI_DIR / name).read_text(encoding="utf-8")))


def _resolve(node: Any, components: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _resolve(components[node["$ref"].rsplit("/", 1)[-1]], components)
        return {key: _resolve(value, components) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(value, components) for value in node]
    return node


def schema(spec: str, path: str, method: str = "get") -> dict[str, Any]:
    document = _spec(spec)
    content = document["paths"][path][method]["responses"]["200"]["content"]
    media = "application/json;charset=UTF-8" if spec == HIST else "application/json"
    return dict(_resolve(content[media]["schema"], document["components"]["schemas"]))


def errors(schema_: dict[str, Any], instance: Any) -> list[str]:
    return [e.message for e in OAS30Validator(schema_).iter_errors(instance)]


def assert_valid(schema_: dict[str, Any], instance: Any) -> None:
    found = errors(schema_, instance)
    assert not found, found[:5]


def test_report_types(api: Api) -> None:
    assert_valid(schema(HIST, "/report-types"), api.get(f"{api.hist}/report-types").json())
    one = api.get(f"{api.hist}/report-types/{INTERACTIONS}").json()
    assert_valid(schema(HIST, "/report-types/{type}"), one)


def test_detailed_create_is_object_not_spec_array__documented_deviation(api: Api) -> None:
    created = api.create(body(INTERACTIONS, *WINDOW)).json()
    spec_form = schema(HIST, "/detailed-reports", "post")
    assert errors(spec_form, created)  # the spec wants an array
    assert_valid(spec_form["items"], created)  # the documented object is one array element


def test_detailed_create_as_array_switch_matches_spec() -> None:
    with Simulator(
        SimConfig.single(seed=1, now=NOW, scale=200, detailed_create_as_array=True)
    ).serve() as server:
        api = Api(server.base_url)
        created = api.create(body(INTERACTIONS, *WINDOW)).json()
        assert_valid(schema(HIST, "/detailed-reports", "post"), created)


def test_failed_detailed_create_validates_with_reason() -> None:
    sim = Simulator(SimConfig.single(seed=1, now=NOW, scale=200, faults="failed_reports=1"))
    with sim.serve() as server:
        created = Api(server.base_url).create(body(INTERACTIONS, *WINDOW)).json()
        assert created["status"] == "FAILED"
        assert_valid(schema(HIST, "/detailed-reports", "post")["items"], created)


def _detailed_rows(api: Api, report_type: str, **extra: Any) -> list[dict[str, Any]]:
    report = api.create_id(body(report_type, *WINDOW, **extra))
    return list(api.data(report, size=1000).json())


@pytest.mark.parametrize(
    ("report_type", "extra"), [(INTERACTIONS, {"includeParticipants": True}), (AGENT_STATUS, {})]
)
def test_detailed_data_values_are_polymorphic__documented_deviation(
    api: Api, report_type: str, extra: dict[str, Any]
) -> None:
    rows = _detailed_rows(api, report_type, **extra)
    assert rows
    spec_form = schema(HIST, "/detailed-reports/{id}/data")
    # The spec types every item value as an object; the guide documents strings, arrays and nulls too.
    assert errors(spec_form, rows)
    item_schema = spec_form["items"]["properties"]["items"]["items"]
    objects = [i for r in rows for i in r["items"] if isinstance(i["value"], dict)]
    if report_type == INTERACTIONS:
        assert objects
    for item in objects:
        assert_valid(item_schema, item)  # {value, ongoing} items are exactly the spec form
    documented = copy.deepcopy(spec_form)
    documented["items"]["properties"]["items"]["items"]["properties"]["value"] = DOCUMENTED_DETAILED_VALUE
    assert_valid(documented, rows)


def test_empty_detailed_data(api: Api) -> None:
    report = api.create_id(body(INTERACTIONS, "2026-03-12T08:00:00.000Z", "2026-03-12T09:00:00.000Z"))
    assert_valid(schema(HIST, "/detailed-reports/{id}/data"), api.data(report).json())


def test_agents_summary_and_numeric_metrics(api: Api) -> None:
    agents = schema(RT, "/agents")
    assert_valid(agents, api.get(f"{api.rt}/agents", params={"summary": "true"}).json())
    numeric = api.get(f"{api.rt}/agents", params={"metrics": "accepted.today,availableTime.int-15m"}).json()
    assert_valid(agents, numeric)


def test_agents_metric_values_are_polymorphic__documented_deviation(api: Api) -> None:
    response = api.get(
        f"{api.rt}/agents", params={"metrics": "status.rt,lastLogin.rt,timeOnStatus.rt"}
    ).json()
    spec_form = schema(RT, "/agents")
    assert errors(spec_form, response)  # spec: value is a number; status names and timestamps are strings
    documented = copy.deepcopy(spec_form)
    documented["items"]["properties"]["metrics"]["items"]["properties"]["value"] = {
        "anyOf": [{"type": "number", "nullable": True}, {"type": "string"}, {"type": "array"}],
    }
    assert_valid(documented, response)


def test_agents_totals_element_has_null_id__documented_deviation(api: Api) -> None:
    response = api.get(
        f"{api.rt}/agents", params={"metrics": "accepted.today", "includeTotals": "true"}
    ).json()
    spec_form = schema(RT, "/agents")
    assert errors(spec_form, response)  # the documented totals element has "id": null
    assert_valid(spec_form, response[:-1])
    documented = copy.deepcopy(spec_form)
    documented["items"]["properties"]["id"]["nullable"] = True
    assert_valid(documented, response)
