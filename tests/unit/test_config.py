from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from acdflow.config import (
    ConfigError,
    IntegrationSpec,
    MaintenanceSpec,
    documented_keys,
    documented_maintenance_keys,
    load_config,
    parse_config,
    raise_for_issues,
)

GOOD = {"name": "acme_us", "conn_id": "eightbyeight_acme", "start_date": "2026-11-01"}


def _parse(entries: list[Any], **top: Any) -> Any:
    return parse_config({"integrations": entries, **top}, path=Path("integrations.yaml"))


def test_minimal_entry_gets_documented_defaults() -> None:
    result = _parse([GOOD])
    assert result.issues == ()
    (spec,) = result.integrations
    assert spec == IntegrationSpec(
        name="acme_us", conn_id="eightbyeight_acme", start_date=datetime(2026, 11, 1, tzinfo=UTC)
    )
    assert spec.correct_time_quirk is True
    assert spec.retries >= 2
    assert spec.pool == "acdflow_8x8_acme_us"
    assert spec.dag_id("interactions") == "acme_us__interactions"
    assert result.warehouse.conn_id == "wfm_warehouse"
    assert result.warehouse.schema == "acd"


def test_specs_are_frozen() -> None:
    (spec,) = _parse([GOOD]).integrations
    with pytest.raises(AttributeError):
        spec.name = "other"  # type: ignore[misc]


def test_every_spec_field_is_a_documented_key() -> None:
    fields = set(IntegrationSpec.__dataclass_fields__)
    assert fields <= set(documented_keys())


@pytest.mark.parametrize(
    ("override", "field", "fragment"),
    [
        ({"name": "Acme US"}, "name", "lower-case slug"),
        ({"name": "x'; DROP TABLE acd.interactions; --"}, "name", "lower-case slug"),
        ({"name": "acmé"}, "name", "lower-case slug"),
        ({"system": "genesys"}, "system", "only '8x8'"),
        ({"conn_id": "bad id"}, "conn_id", "connection id"),
        ({"start_date": "yesterday"}, "start_date", "ISO date"),
        ({"start_date": "2026-11-01T00:07:00Z"}, "start_date", "15-minute boundary"),
        ({"retries": 1}, "retries", "from 2 to 20"),
        ({"retries": "3"}, "retries", "whole number"),
        ({"enabled": "yes"}, "enabled", "true or false"),
        ({"live_poll_seconds": 5}, "live_poll_seconds", "from 15 to 300"),
        ({"drift_check": "ignore"}, "drift_check", "'fail' or 'warn'"),
        ({"colour": "blue"}, "colour", "unknown key"),
        ({"alerts": {"email_to": "not-an-address"}}, "alerts.email_to", "e-mail address"),
        ({"alerts": {"pager": "x"}}, "alerts.pager", "unknown key"),
    ],
)
def test_bad_field_is_named(override: dict[str, Any], field: str, fragment: str) -> None:
    result = _parse([{**GOOD, **override}])
    assert result.integrations == ()
    (issue,) = result.issues
    assert issue.field == field
    assert fragment in issue.message
    assert "integrations[0]" in str(issue)
    assert f"field '{field}'" in str(issue)


def test_missing_required_field() -> None:
    entry = dict(GOOD)
    del entry["conn_id"]
    (issue,) = _parse([entry]).issues
    assert (issue.field, issue.message) == ("conn_id", "is required")


def test_bad_entry_does_not_hide_good_ones() -> None:
    other = {**GOOD, "name": "beta_eu", "conn_id": "eightbyeight_beta"}
    result = _parse([GOOD, {**GOOD, "name": "broken", "retries": 0}, other])
    assert [s.name for s in result.integrations] == ["acme_us", "beta_eu"]
    (issue,) = result.issues
    assert issue.entry == "integrations[1] (name 'broken')"
    assert issue.field == "retries"


def test_duplicate_names_are_refused() -> None:
    result = _parse([GOOD, {**GOOD, "conn_id": "other"}])
    assert [s.conn_id for s in result.integrations] == ["eightbyeight_acme"]
    (issue,) = result.issues
    assert "duplicate name 'acme_us'" in issue.message


def test_defaults_section_applies_to_every_entry() -> None:
    result = _parse([GOOD, {**GOOD, "name": "b", "retries": 5}], defaults={"retries": 4, "owner": "wfm"})
    assert [(s.name, s.retries, s.owner) for s in result.integrations] == [
        ("acme_us", 4, "wfm"),
        ("b", 5, "wfm"),
    ]


def test_warehouse_schema_must_be_an_identifier() -> None:
    result = _parse([GOOD], warehouse={"schema": 'acd"; drop'})
    assert result.integrations  # the integrations themselves are fine
    (issue,) = result.issues
    assert issue.field == "warehouse.schema"


@pytest.mark.parametrize("document", [[1, 2], "integrations", 42])
def test_document_must_be_a_mapping(document: Any) -> None:
    result = parse_config(document, path=Path("x.yaml"))
    assert result.integrations == ()
    (issue,) = result.issues
    assert "must be a mapping" in issue.message


def test_entry_must_be_a_mapping() -> None:
    (issue,) = _parse(["acme"]).issues
    assert "must be a mapping" in issue.message


def test_load_from_file_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "integrations.yaml"
    path.write_text(yaml.safe_dump({"integrations": [GOOD]}))
    monkeypatch.setenv("ACDFLOW_INTEGRATIONS", str(path))
    result = load_config()
    assert result.path == path
    assert [s.name for s in result.integrations] == ["acme_us"]
    raise_for_issues()  # no problems, no error


def test_unreadable_files_are_issues_not_crashes(tmp_path: Path) -> None:
    assert "file not found" in str(load_config(tmp_path / "missing.yaml").issues[0])
    broken = tmp_path / "broken.yaml"
    broken.write_text("integrations: [\n")
    assert "not valid YAML" in str(load_config(broken).issues[0])
    with pytest.raises(ConfigError, match="not valid YAML"):
        raise_for_issues(broken)


def test_disabled_entries_are_kept_but_not_enabled() -> None:
    result = _parse([GOOD, {**GOOD, "name": "off", "enabled": False}])
    assert [s.name for s in result.integrations] == ["acme_us", "off"]
    assert [s.name for s in result.enabled()] == ["acme_us"]


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        # YAML itself would keep the last value silently; the first one a person wrote would vanish.
        (
            "integrations:\n  - name: acme_us\n    conn_id: a\n    start_date: 2026-11-01\n    conn_id: b\n",
            "conn_id",
            5,
        ),
        (
            "integrations:\n  - {name: acme_us, conn_id: a, start_date: 2026-11-01}\nintegrations: []\n",
            "integrations",
            3,
        ),
        ("warehouse: {schema: acd}\nwarehouse: {schema: other}\nintegrations: []\n", "warehouse", 2),
    ],
)
def test_a_key_written_twice_is_an_error_not_a_silent_override(
    tmp_path: Path, text: str, key: str, line: int
) -> None:
    path = tmp_path / "integrations.yaml"
    path.write_text(text)
    result = load_config(path)
    assert result.integrations == ()
    (issue,) = result.issues
    assert f"found duplicate key {key!r}" in issue.message
    assert f"line {line}," in issue.message


def test_yaml_merge_keys_are_not_mistaken_for_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "integrations.yaml"
    path.write_text(
        "integrations:\n"
        "  - &base {name: acme_us, conn_id: a, start_date: 2026-11-01, retries: 5}\n"
        "  - <<: *base\n    name: beta_eu\n    retries: 6\n"
    )
    result = load_config(path)
    assert result.issues == ()
    assert [(s.name, s.conn_id, s.retries) for s in result.integrations] == [
        ("acme_us", "a", 5),
        ("beta_eu", "a", 6),
    ]


def test_unknown_top_level_and_warehouse_keys_are_named() -> None:
    result = _parse([GOOD], colour="blue", warehouse={"schema": "acd", "password": "x"})
    assert [(i.field, i.message.split(";")[0]) for i in result.issues] == [
        ("colour", "unknown top-level key"),
        ("warehouse.password", "unknown key"),
    ]
    assert [s.name for s in result.integrations] == ["acme_us"]


def test_maintenance_defaults_when_the_section_is_absent() -> None:
    result = _parse([GOOD])
    assert result.maintenance == MaintenanceSpec()
    spec = result.maintenance
    assert spec is not None
    assert (spec.load_runs_days, spec.rejected_rows_days, spec.live_log_days, spec.dq_results_days) == (
        90,
        180,
        35,
        400,
    )
    assert (spec.staging_hours, spec.schedule, spec.conn_id) == (48, "30 3 * * *", None)
    # Every field is a key of the section, documented with its default.
    assert set(MaintenanceSpec.__dataclass_fields__) == set(documented_maintenance_keys())
    for key, text in documented_maintenance_keys().items():
        if key != "conn_id":
            assert f"default {getattr(MaintenanceSpec(), key)}" in text.replace("'", ""), key


def test_maintenance_settings_are_read() -> None:
    result = _parse(
        [GOOD],
        maintenance={
            "load_runs_days": 30,
            "rejected_rows_days": 60,
            "live_log_days": 7,
            "dq_results_days": 365,
            "staging_hours": 72,
            "schedule": "@daily",
            "conn_id": "wfm_maintenance",
            "batch_rows": 1000,
        },
    )
    assert result.issues == ()
    assert result.maintenance == MaintenanceSpec(
        load_runs_days=30,
        rejected_rows_days=60,
        live_log_days=7,
        dq_results_days=365,
        staging_hours=72,
        schedule="@daily",
        conn_id="wfm_maintenance",
        batch_rows=1000,
    )


@pytest.mark.parametrize(
    ("section", "field", "fragment"),
    [
        ({"load_runs_days": 0}, "maintenance.load_runs_days", "whole number from 1"),
        ({"live_log_days": "35"}, "maintenance.live_log_days", "whole number"),
        ({"dq_results_days": True}, "maintenance.dq_results_days", "whole number"),
        # check_time_drift re-validates agent-status reports from staging for two days.
        ({"staging_hours": 24}, "maintenance.staging_hours", "from 48"),
        ({"schedule": "every night"}, "maintenance.schedule", "cron expression"),
        ({"schedule": "0 3 * * * 30"}, "maintenance.schedule", "cron expression"),
        ({"conn_id": "bad id"}, "maintenance.conn_id", "connection id"),
        ({"batch_rows": 10}, "maintenance.batch_rows", "from 100"),
        ({"keep_forever": True}, "maintenance.keep_forever", "unknown key"),
    ],
)
def test_bad_maintenance_setting_is_named_and_builds_no_maintenance(
    section: dict[str, Any], field: str, fragment: str
) -> None:
    result = _parse([GOOD], maintenance=section)
    (issue,) = result.issues
    assert issue.field == field
    assert fragment in issue.message
    # An invalid section never falls back to defaults the operator did not write.
    assert result.maintenance is None
    assert [s.name for s in result.integrations] == ["acme_us"]


def test_maintenance_section_must_be_a_mapping() -> None:
    result = _parse([GOOD], maintenance=["load_runs_days", 90])
    assert [i.field for i in result.issues] == ["maintenance"]
    assert result.maintenance is None
