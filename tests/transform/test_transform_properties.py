"""Property tests: fuzzed row shapes never crash the transforms and every row is accounted for; and
what the warehouse SQL makes of them (AHT per interval, status intervals) matches an independent
calculation, through a real PostgreSQL schema."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from acdflow.transform.agent_status import (
    LiveSkip,
    LiveStatus,
    live_status_from_agent,
    live_statuses,
    status_name,
    transform_status_events,
)
from acdflow.transform.interactions import transform_interactions
from acdflow.warehouse import store
from tests.transform.transform_testlib import load, utc
from tests.transform.warehouse_testlib import (
    expected_aht,
    expected_history,
    handled_call,
    import_interaction_rows,
    import_status_rows,
    publish_interactions,
    publish_statuses,
    status_change,
    stored_aht,
    stored_history,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---- value strategies -----------------------------------------------------------------------

json_scalar = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)

instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31))
offsets = st.sampled_from(
    ["Z", "+00:00", "-08:00", "-07:00", "+02:00", "+03:00", "+05:30", "+11:00", "+14:00"]
)


def mostly(
    usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], percent: int = 6
) -> st.SearchStrategy[Any]:
    """``rare`` in roughly ``percent`` % of draws, else ``usual`` — so fuzzed rows still reach the deep
    paths. (The rare branch sits at the top of the range: Hypothesis favours small integers.)"""
    return st.integers(min_value=0, max_value=99).flatmap(lambda n: rare if n >= 100 - percent else usual)


@st.composite
def timestamps(draw: st.DrawFn) -> Any:
    """Mostly valid API timestamps, plus the near-misses the parser must refuse."""
    moment = draw(instants)
    text = moment.isoformat(timespec=draw(st.sampled_from(["milliseconds", "seconds", "minutes"])))
    near_misses = st.sampled_from([text, text.replace("T", " ") + "Z", text[:10]])  # no offset, etc.
    return draw(mostly(st.just(text + draw(offsets)), near_misses | json_value))


def one_of_or_junk(*values: Any) -> st.SearchStrategy[Any]:
    return mostly(st.sampled_from(values), json_value)


@st.composite
def participant(draw: st.DrawFn) -> dict[str, Any]:
    """An agent assignment with consistent times (offer ≤ handling end ≤ wrap-up end) unless fuzzed."""
    offered = draw(instants)
    handled_until = offered + timedelta(milliseconds=draw(st.integers(min_value=0, max_value=3_600_000)))
    wrapped_until = handled_until + timedelta(milliseconds=draw(st.integers(min_value=0, max_value=600_000)))

    def stamp(moment: datetime) -> str:
        return moment.isoformat(timespec="milliseconds") + draw(offsets)

    return {
        "participantOfferAction": draw(
            one_of_or_junk(*["Accepted"] * 3, "accepted", "OfferTimeout", "Rejected", None)
        ),
        "participantOfferActionTime": draw(mostly(st.just(stamp(offered)), timestamps() | st.none())),
        "participantHandlingEndTime": draw(
            mostly(st.just(stamp(handled_until)), timestamps() | st.none(), 20)
        ),
        "participantWrapUpEndTime": draw(mostly(st.just(stamp(wrapped_until)), timestamps() | st.none(), 30)),
    }


participants = mostly(
    st.lists(mostly(participant(), json_value | st.just({}), 3), min_size=1, max_size=3),
    st.just([]) | st.none() | json_value,
    15,
)

INTERACTION_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "interactionId": one_of_or_junk("int-1", "int-2", "int-3", "int-4", "int-5", ""),
    "queueName": one_of_or_junk(*["Support EN", "Chat EN"] * 4, "", "  ", None),
    "direction": one_of_or_junk(*["InboundDir", "OutboundDir", "inbound", "OUTBOUND"] * 2, "Internal", None),
    "mediaType": one_of_or_junk("Phone", "Chat", "Email", "VoiceMail", "voicemail", "Fax", None),
    "queueTime": timestamps(),
    "time": timestamps() | st.none(),
    "interactionLabels": one_of_or_junk(
        ["Queued", "Handled"], ["Queued", "Handled"], ["Queued"], ["handled"], [], None
    ),
    "finishedTime": timestamps()
    | st.fixed_dictionaries({"value": timestamps() | st.none(), "ongoing": one_of_or_junk(True, False)}),
    "participants": participants,
    "queueId": one_of_or_junk("412", 412, None),
    "transactionId": one_of_or_junk("1", None),
}

STATUS_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "agentId": one_of_or_junk("ag1", "ag2", "", None),
    "agent": one_of_or_junk("Maria", None),
    "status": one_of_or_junk("Available", "OnBreak", "onBreak", "LoggedOut", "", None),
    "statusCode": one_of_or_junk("Lunch", "", None),
    "time": timestamps(),
}


def item_for(key: str, value: Any) -> dict[str, Any]:
    return {"key": key, "label": key.title(), "value": value}


def rows_of(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[list[Any]]:
    """Lists of rows: mostly well-formed with plausible values, sometimes anything at all."""
    keys = sorted(fields)

    @st.composite
    def structured(draw: st.DrawFn) -> Any:
        dropped = draw(mostly(st.just(set()), st.sets(st.sampled_from(keys), max_size=2)))
        items: list[Any] = [item_for(k, draw(fields[k])) for k in keys if k not in dropped]
        # Occasional junk items: non-objects, missing key/value, repeated keys, unknown keys.
        junk = (
            json_value
            | st.builds(item_for, st.sampled_from(keys), json_value)
            | st.fixed_dictionaries({"key": st.text(max_size=5)})
            | st.builds(item_for, st.text(max_size=8), json_value)
        )
        items += draw(mostly(st.just([]), st.lists(junk, min_size=1, max_size=2)))
        items = draw(st.permutations(items))
        row = {"total": None, "items": items}
        return draw(mostly(st.just(row), st.sampled_from([{"items": items}, {"total": None}]) | json_value))

    @st.composite
    def with_repeats(draw: st.DrawFn) -> list[Any]:
        rows = draw(st.lists(structured(), max_size=8))
        if rows:  # exact repeats (the same row on two pages) must collapse into `duplicates`
            rows += draw(st.lists(st.sampled_from(rows), max_size=3))
        return list(draw(st.permutations(rows)))

    return with_repeats()


def check_interactions(rows: list[Any]) -> None:
    batch = transform_interactions(rows)
    assert len(batch.records) + len(batch.rejected) + sum(batch.filtered.values()) + batch.duplicates == len(
        rows
    )
    ids = [r.interaction_id for r in batch.records]
    assert len(ids) == len(set(ids))
    for r in batch.records:
        assert r.queue_name.strip()
        assert r.channel in ("call", "chat", "email")
        assert r.direction in ("inbound", "outbound")
        assert r.queue_time.tzinfo is UTC
        assert r.interval_start.tzinfo is UTC
        assert r.interval_start <= r.queue_time < r.interval_start + timedelta(minutes=15)
        assert r.interval_start.minute % 15 == 0
        assert r.interval_start.second == 0
        if not r.handled:
            assert r.handling_ms is None
        elif r.handling_ms is not None:
            assert r.handling_ms >= 0
    excluded = sum(batch.aht_excluded.values())
    assert excluded == sum(1 for r in batch.records if r.handled and r.handling_ms is None)
    for rejected in batch.rejected:
        assert rejected.reason
        assert any(rejected.raw is row for row in rows)
        assert rejected.record_time is None or rejected.record_time.tzinfo is UTC

    # Replaying the same rows: records unchanged, every earlier record/duplicate becomes a duplicate.
    again = transform_interactions(rows + rows)
    assert again.records == batch.records
    assert again.duplicates == 2 * batch.duplicates + len(batch.records)
    assert len(again.rejected) == 2 * len(batch.rejected)
    assert again.filtered == batch.filtered + batch.filtered


@SETTINGS
@given(rows_of(INTERACTION_FIELDS))
def test_fuzzed_interaction_rows_are_all_accounted_for(rows: list[Any]) -> None:
    check_interactions(rows)


@SETTINGS
@given(st.lists(json_value, max_size=5))
def test_arbitrary_json_as_interaction_rows(rows: list[Any]) -> None:
    check_interactions(rows)


def check_status(rows: list[Any]) -> None:
    batch = transform_status_events(rows)
    assert len(batch.events) + len(batch.rejected) + batch.duplicates == len(rows)
    keys = [e.key for e in batch.events]
    assert len(keys) == len(set(keys))
    for e in batch.events:
        assert e.time.tzinfo is UTC
        assert e.agent_id.strip()
        assert e.status.strip()
    for rejected in batch.rejected:
        assert rejected.reason


@SETTINGS
@given(rows_of(STATUS_FIELDS))
def test_fuzzed_status_rows_are_all_accounted_for(rows: list[Any]) -> None:
    check_status(rows)


@SETTINGS
@given(st.lists(json_value, max_size=5))
def test_arbitrary_json_as_status_rows(rows: list[Any]) -> None:
    check_status(rows)


LIVE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "status.rt": one_of_or_junk("Available", "OnBreak", "LoggedOut", "loggedout", ""),
    "statusCode.rt": one_of_or_junk("Lunch", None),
    "timeOnStatus.rt": one_of_or_junk(0, 1797000, -1, 1.5, "45250")
    | st.integers(min_value=0, max_value=10**13),
    "loggedInTime.rt": one_of_or_junk(0, 12717886, 1e3) | st.integers(min_value=0, max_value=10**13),
    "lastLogin.rt": timestamps() | st.sampled_from(["0001-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z"]),
    "lastLogout.rt": timestamps() | st.none(),
}


@st.composite
def agents(draw: st.DrawFn) -> Any:
    metrics = [
        {"key": k, "value": draw(v)}
        for k, v in LIVE_FIELDS.items()
        if draw(mostly(st.just(True), st.just(False)))
    ]
    element = {
        "id": draw(one_of_or_junk("agX", "agY", "agZ", None, "")),
        "name": draw(one_of_or_junk("X", None)),
        "metrics": draw(mostly(st.just(metrics), st.just([*metrics, {"key": "status.rt"}]) | json_value)),
    }
    return draw(mostly(st.just(element), json_value))


@SETTINGS
@given(agents())
def test_fuzzed_live_agents_never_raise(element: Any) -> None:
    result = live_status_from_agent(element, datetime(2025, 11, 18, 20, 30, tzinfo=UTC))
    assert isinstance(result, LiveStatus | LiveSkip)
    if isinstance(result, LiveStatus):
        assert result.start_time.tzinfo is UTC
        assert result.status.strip()
        if result.status.lower() == "loggedout":
            assert result.end_time == result.start_time
        else:
            assert result.end_time is None
    else:
        assert result.reason


# ---- realistic shapes: the example rows, mutated -------------------------------------------------
#
# The strategies above build rows from the fields the mapping reads. These start from the full rows
# of the example report in data/ (every field 8x8 sends, 31-key participant objects, duration
# objects) and break them the ways a changed or faulty API could.

EXAMPLE_ROWS: list[dict[str, Any]] = load("interactions_page1.json") + load("interactions_page2.json")
EXAMPLE_STATUS_ROWS: list[dict[str, Any]] = load("agent_status_changes.json")

# What the mapping reads (the product rules); everything else must not matter.
READ_KEYS = frozenset(
    {
        "queueName",
        "direction",
        "interactionId",
        "queueTime",
        "mediaType",
        "interactionLabels",
        "queueId",
        "transactionId",
        "time",
        "finishedTime",
        "participants",
    }
)
READ_PARTICIPANT_KEYS = frozenset(
    {
        "participantOfferAction",
        "participantOfferActionTime",
        "participantWrapUpEndTime",
        "participantHandlingEndTime",
    }
)
READ_STATUS_KEYS = frozenset({"agentId", "agent", "status", "statusCode", "time"})  # the fields requested

QUICK = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Hostile text: quotes, SQL, control characters, NUL, right-to-left marks, astral characters.
hostile_text = st.text(max_size=12) | st.sampled_from(
    ["x'); DROP TABLE acd.interactions; --", "\x00", "\u202e", "😀", "%(integration)s", "{schema}", ""]
)
any_value = st.recursive(
    json_scalar | hostile_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def mutated_row(draw: st.DrawFn, rows: list[dict[str, Any]]) -> Any:
    """An example row with one to three random breakages."""
    row = copy.deepcopy(draw(st.sampled_from(rows)))
    items: list[Any] = row["items"]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        action = draw(
            st.sampled_from(["drop", "revalue", "repeat", "rekey", "participant", "participant_key", "junk"])
        )
        if not items:
            break
        index = draw(st.integers(min_value=0, max_value=len(items) - 1))
        item = items[index]
        if action == "drop":
            del items[index]
        elif action == "revalue":
            item["value"] = draw(any_value)
        elif action == "repeat":
            items.append(copy.deepcopy(item))
        elif action == "rekey":
            item["key"] = draw(hostile_text | st.sampled_from(sorted(READ_KEYS)))
        elif action in ("participant", "participant_key") and item.get("key") == "participants":
            people = item["value"]
            if isinstance(people, list) and people and isinstance(people[0], dict):
                person = people[draw(st.integers(min_value=0, max_value=len(people) - 1))]
                key = draw(st.sampled_from(sorted(person)))
                if action == "participant":
                    person[key] = draw(any_value)
                else:
                    del person[key]
        elif action == "junk":
            return draw(any_value)
    return row


@QUICK
@given(st.lists(mutated_row(EXAMPLE_ROWS) | st.sampled_from(EXAMPLE_ROWS), min_size=1, max_size=6))
def test_mutated_example_interaction_rows_are_all_accounted_for(rows: list[Any]) -> None:
    check_interactions(rows)
    for single in rows:  # each row on its own lands in exactly one bucket
        batch = transform_interactions([single])
        assert len(batch.records) + len(batch.rejected) + sum(batch.filtered.values()) == 1


@QUICK
@given(st.lists(mutated_row(EXAMPLE_STATUS_ROWS) | st.sampled_from(EXAMPLE_STATUS_ROWS), max_size=6))
def test_mutated_example_status_rows_are_all_accounted_for(rows: list[Any]) -> None:
    check_status(rows)


def _outcome(batch: Any) -> tuple[Any, ...]:
    return (batch.records, [r.reason for r in batch.rejected], batch.filtered, batch.aht_excluded)


@QUICK
@given(
    st.sampled_from(EXAMPLE_ROWS),
    st.dictionaries(hostile_text.filter(lambda k: k not in READ_KEYS), any_value, min_size=1, max_size=4),
    st.dictionaries(
        st.sampled_from(["participantHandlingDuration", "participantWrapUpDuration", "participantHold"])
        | hostile_text.filter(lambda k: k not in READ_PARTICIPANT_KEYS),
        any_value,
        max_size=3,
    ),
)
def test_fields_the_mapping_does_not_read_never_change_the_outcome(
    row: dict[str, Any], row_fields: dict[str, Any], participant_fields: dict[str, Any]
) -> None:
    """Durations in any format (documented or not), unknown fields, new participant keys: ignored."""
    changed = copy.deepcopy(row)
    unread = {**row_fields, "queueWaitDuration": row_fields.get("queueWaitDuration", "0:00:41")}
    changed["items"] = [i for i in changed["items"] if i["key"] not in unread]
    changed["items"] += [{"key": k, "label": k, "value": v} for k, v in unread.items()]
    for item in changed["items"]:
        if item["key"] == "participants" and isinstance(item["value"], list):
            for person in item["value"]:
                person.update(participant_fields)
    assert _outcome(transform_interactions([changed])) == _outcome(transform_interactions([row]))


@QUICK
@given(
    st.sampled_from(EXAMPLE_STATUS_ROWS),
    st.dictionaries(
        hostile_text.filter(lambda k: k not in READ_STATUS_KEYS), any_value, min_size=1, max_size=4
    ),
)
def test_status_fields_not_read_never_change_the_event(row: dict[str, Any], fields: dict[str, Any]) -> None:
    changed = copy.deepcopy(row)
    changed["items"] = [i for i in changed["items"] if i["key"] not in fields]
    changed["items"] += [{"key": k, "label": k, "value": v} for k, v in fields.items()]
    before, after = transform_status_events([row]), transform_status_events([changed])
    assert (after.events, [r.reason for r in after.rejected]) == (
        before.events,
        [r.reason for r in before.rejected],
    )


@QUICK
@given(st.lists(agents() | any_value, max_size=5))
def test_every_live_element_becomes_a_status_or_a_counted_skip(elements: list[Any]) -> None:
    statuses, skipped = live_statuses(elements, datetime(2025, 11, 18, 20, 30, tzinfo=UTC))
    assert len(statuses) + len(skipped) == len(elements)
    assert all(s.reason for s in skipped)


# ---- through the warehouse: the SQL that computes AHT and status intervals ----------------------
#
# AHT per interval and the status intervals exist only as SQL, so these load what the transforms
# make through the production staging and publishing functions and compare the published tables with
# the independent oracles of ``warehouse_testlib``. Each example loads into an integration of its
# own within the test's one migrated schema (a schema per example would spend the time migrating),
# so sharing the function-scoped fixtures across examples is intended.

WAREHOUSE = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_integrations = itertools.count()
T0 = utc(2026, 3, 10, 14, 0)
MINUTE = timedelta(minutes=1)


def next_integration() -> str:
    return f"prop{next(_integrations)}"


def strict_json(rows: list[Any]) -> bool:
    """8x8 answers JSON; NaN and Infinity are a Python extension that jsonb refuses to store."""
    try:
        json.dumps(rows, allow_nan=False)
    except ValueError:
        return False
    return True


@WAREHOUSE
@given(rows_of(INTERACTION_FIELDS))
def test_fuzzed_interaction_rows_get_the_oracle_aht(
    warehouse_uri: str, fresh_schema: str, rows: list[Any]
) -> None:
    assume(strict_json(rows))
    integration = next_integration()
    with store.connect(warehouse_uri, fresh_schema) as conn:
        batch = import_interaction_rows(conn, fresh_schema, rows, report_id=1, integration=integration)
        expected = expected_aht(batch.records)
        assert stored_aht(conn, fresh_schema, integration) == expected
        # The next run's look-back reads the same rows again: nothing changes.
        import_interaction_rows(conn, fresh_schema, rows, report_id=2, integration=integration)
        assert stored_aht(conn, fresh_schema, integration) == expected


# Tiny handling times make averages land exactly on half a millisecond; large ones make big sums.
handling_times = (
    st.none() | st.integers(min_value=0, max_value=3) | st.integers(min_value=0, max_value=10**13)
)
calls = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3),  # interval
        st.sampled_from(["Support EN", "Sales"]),
        st.sampled_from(["call", "chat"]),
        mostly(st.just(True), st.just(False), 20),  # handled
        handling_times,
    ),
    max_size=25,
)


@WAREHOUSE
@given(
    calls,
    st.lists(st.tuples(st.integers(min_value=0, max_value=40), st.booleans(), handling_times), max_size=10),
)
def test_aht_of_random_calls_and_rereads_matches_the_oracle(
    warehouse_uri: str,
    fresh_schema: str,
    first: list[tuple[int, str, str, bool, int | None]],
    reread: list[tuple[int, bool, int | None]],
) -> None:
    records = [
        handled_call(
            f"i{n}",
            T0 + interval * 15 * MINUTE + n * MINUTE // 4,
            ms,
            handled=handled,
            queue=queue,
            channel=channel,
        )
        for n, (interval, queue, channel, handled, ms) in enumerate(first)
    ]
    # A later report reads some calls again with new handling (8x8 finished them) and adds new ones.
    second = {}
    for n, handled, ms in reread:
        if n < len(records):
            second[f"i{n}"] = dataclasses.replace(
                records[n], handled=handled, handling_ms=ms if handled else None
            )
        else:
            second[f"n{n}"] = handled_call(f"n{n}", T0 + n * MINUTE, ms, handled=handled)
    final = {r.interaction_id: r for r in records} | second
    integration = next_integration()
    with store.connect(warehouse_uri, fresh_schema) as conn:
        publish_interactions(conn, fresh_schema, records, report_id=1, integration=integration)
        assert stored_aht(conn, fresh_schema, integration) == expected_aht(records)
        publish_interactions(conn, fresh_schema, list(second.values()), report_id=2, integration=integration)
        assert stored_aht(conn, fresh_schema, integration) == expected_aht(final.values())


@WAREHOUSE
@given(rows_of(STATUS_FIELDS))
def test_fuzzed_status_rows_chain_in_the_warehouse(
    warehouse_uri: str, fresh_schema: str, rows: list[Any]
) -> None:
    assume(strict_json(rows))
    integration = next_integration()
    with store.connect(warehouse_uri, fresh_schema) as conn:
        batch = import_status_rows(conn, fresh_schema, rows, report_id=1, integration=integration)
        stored = stored_history(conn, fresh_schema, integration)
    # One status per agent and instant, each lasting until the agent's next instant, the last open.
    names: dict[tuple[str, datetime], set[str]] = defaultdict(set)
    for e in batch.events:
        names[(e.agent_id, e.time)].add(status_name(e.status, e.status_code))
    starts: dict[str, list[datetime]] = defaultdict(list)
    for agent_id, time in sorted(names):
        starts[agent_id].append(time)
    expected = [
        (agent_id, start, end)
        for agent_id in sorted(starts)
        for start, end in zip(starts[agent_id], [*starts[agent_id][1:], None], strict=True)
    ]
    assert [(agent_id, start, end) for agent_id, _, start, end in stored] == expected
    assert all(name in names[(agent_id, start)] for agent_id, name, start, _ in stored)


status_log = st.dictionaries(
    st.tuples(st.sampled_from(["a1", "a2", "a3"]), st.integers(min_value=0, max_value=120)),  # agent, minute
    st.sampled_from(
        [("Available", None), ("OnBreak", "Lunch"), ("WorkingOffline", "Training"), ("LoggedOut", None)]
    ),
    max_size=20,
)
windows = st.lists(
    st.tuples(st.integers(min_value=0, max_value=120), st.integers(min_value=1, max_value=60)),
    min_size=1,
    max_size=4,
)


@WAREHOUSE
@given(status_log, windows, st.data())
def test_status_windows_published_in_any_order_converge(
    warehouse_uri: str,
    fresh_schema: str,
    log: dict[tuple[str, int], tuple[str, str | None]],
    reads: list[tuple[int, int]],
    data: st.DataObject,
) -> None:
    """Overlapping windows of one status log, published in any order with re-runs: the stored chain
    is the chain of every event published, each agent's latest status open."""
    reports = [
        [
            status_change(agent_id, T0 + minute * MINUTE, status, code)
            for (agent_id, minute), (status, code) in sorted(log.items())
            if start <= minute < start + length
        ]
        for start, length in reads
    ]
    order = data.draw(st.permutations(range(len(reports))))
    order += data.draw(st.lists(st.sampled_from(range(len(reports))), max_size=2))
    integration = next_integration()
    with store.connect(warehouse_uri, fresh_schema) as conn:
        for report_id in order:
            publish_statuses(
                conn, fresh_schema, reports[report_id], report_id=report_id, integration=integration
            )
        stored = stored_history(conn, fresh_schema, integration)
    assert stored == expected_history(e for report in reports for e in report)
