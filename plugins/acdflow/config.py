"""Integration configuration: ``include/integrations.yaml`` validated into frozen, typed specs.

The DAG factory builds DAGs only from what this module returns, and this module only reads a local
file, so parsing the DAG folder never touches the network, the database, Variables or Connections.

A bad entry never hides the good ones: :func:`load_config` returns the valid specs *and* a list of
:class:`ConfigIssue`, each naming the entry and the field. The DAG folder turns the issues into one
import error (see ``dags/acdflow_config_errors.py``) while the valid integrations still load.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml

from acdflow.resources import integrations_file

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CONN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,250}$")
# PostgreSQL reserves pg_* for system schemas and roles, and pg_temp names the session's temporary
# schema, where tables vanish at disconnect; information_schema is the system's own.
SCHEMA_PATTERN = re.compile(r"^(?!pg_|information_schema$)[a-z_][a-z0-9_]{0,62}$")
EMAIL_PATTERN = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")

DriftMode = Literal["fail", "warn"]


class ConfigError(ValueError):
    """Raised when the integrations file cannot be used at all, or by the config-errors DAG file."""


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in the integrations file, located precisely enough to fix it."""

    entry: str
    field: str
    message: str

    def __str__(self) -> str:
        where = self.entry if not self.field else f"{self.entry}: field '{self.field}'"
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """Where failure alerts go. Both are optional; with neither, failures are only logged."""

    webhook_conn_id: str | None = None
    email_to: tuple[str, ...] = ()
    smtp_conn_id: str = "smtp_default"


@dataclass(frozen=True, slots=True)
class WarehouseSpec:
    conn_id: str = "wfm_warehouse"
    schema: str = "acd"


@dataclass(frozen=True, slots=True)
class MaintenanceSpec:
    """Retention of the warehouse's bookkeeping tables, enforced by the ``acdflow_maintenance`` DAG.
    Field defaults are the documented defaults of the ``maintenance:`` keys."""

    load_runs_days: int = 90
    rejected_rows_days: int = 180
    live_log_days: int = 35
    dq_results_days: int = 400
    # Landed pages and staged rows of any report older than this go, whether its run succeeded,
    # failed or was cleared. check_time_drift keeps agent-status reports two days so a cleared check
    # re-validates what 8x8 returned; a shorter setting would pull them out from under it.
    staging_hours: int = 48
    schedule: str = "30 3 * * *"
    # None: the warehouse connection. A connection of its own lets the DAG log in as the
    # maintenance role, which may delete but never write data.
    conn_id: str | None = None
    # Rows deleted per statement: each batch commits on its own, so no prune holds a long
    # transaction or many row locks.
    batch_rows: int = 5000


@dataclass(frozen=True, slots=True)
class IntegrationSpec:
    """One 8x8 tenant to import. Field defaults are the documented defaults of the YAML keys."""

    name: str
    conn_id: str
    start_date: datetime
    system: str = "8x8"
    enabled: bool = True
    end_date: datetime | None = None
    # The 8x8 API reads UTC-formatted request times as tenant-local wall clock;
    # False reproduces the naive import for comparison.
    correct_time_quirk: bool = True
    # Every interactions run re-reads this much history before its interval, so interactions that
    # finish after their interval was first imported still arrive (8x8 omits ongoing ones).
    lookback_minutes: int = 240
    # Once a day the run of the interval starting at settle_hour_utc:00 re-reads this many hours,
    # so interactions open longer than the look-back (long e-mail threads) still converge.
    settle_lookback_hours: int = 48
    settle_hour_utc: int = 2
    # Agent-status runs re-read this much before their interval to close statuses left open.
    status_overlap_minutes: int = 30
    # A scheduled or backfill run whose data is final (older than the settle look-back) reads its
    # interval and only this much before it: interactions are placed by queueTime but selected by
    # creation time, so those created shortly before the interval (IVR, scripts) are read again.
    final_overlap_minutes: int = 15
    max_active_runs: int = 4
    # Slots of this integration's Airflow pool = concurrent 8x8 API tasks for the tenant.
    api_concurrency: int = 1
    retries: int = 3
    retry_delay_seconds: int = 30
    max_retry_delay_seconds: int = 600
    owner: str = "wfm-data"
    tags: tuple[str, ...] = ()
    live_poll_seconds: int = 30
    drift_check: DriftMode = "fail"
    alerts: AlertSpec = field(default_factory=AlertSpec)
    # An interactions or agent-status run that has not succeeded this long after it was queued
    # alerts through ``alerts`` (0: never). A run on schedule is queued as its interval closes.
    landing_deadline_minutes: int = 60
    # First UTC day the ``<name>__history`` DAG imports, a whole day per run; None: no history DAG.
    history_start_date: datetime | None = None

    def settle_horizon(self, *, minutes: int, now: datetime) -> datetime:
        """Data created before this instant is final in 8x8: every record of it has been readable
        for longer than the longest window any run re-reads (the daily settle run's
        ``settle_lookback_hours``, or a look-back of ``minutes`` if that is longer)."""
        return now - self.settle_lag(minutes)

    def settle_lag(self, minutes: int) -> timedelta:
        """How old data must be to be final, for runs that re-read ``minutes``."""
        return max(timedelta(minutes=minutes), timedelta(hours=self.settle_lookback_hours))

    @property
    def history_lag(self) -> timedelta:
        """How old data must be before the history DAG reads it: final for both report kinds."""
        return self.settle_lag(max(self.lookback_minutes, self.status_overlap_minutes))

    def history_end(self, now: datetime) -> datetime:
        """End of the last day the history DAG imports: the UTC midnight at or before the settle
        horizon of both report kinds (and not after ``end_date``), so every day it reads is final."""
        horizon = now - self.history_lag
        if self.end_date is not None:
            horizon = min(horizon, self.end_date)
        return horizon.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

    @property
    def pool(self) -> str:
        return f"acdflow_8x8_{self.name}"

    @property
    def live_pool(self) -> str:
        """Pool of the live-status tasks (2 slots; a deferred poller, polling in the triggerer,
        holds none): kept apart so a handover never waits for the report DAGs' pool."""
        return f"acdflow_8x8_{self.name}_live"

    def pools(self) -> list[dict[str, Any]]:
        """The Airflow pools this integration's DAGs use, in ``airflow pools import`` form."""
        return [
            {
                "name": self.pool,
                "slots": self.api_concurrency,
                "description": f"acdflow: concurrent 8x8 report API tasks of integration {self.name}",
                "include_deferred": False,
            },
            {
                "name": self.live_pool,
                "slots": 2,
                "description": f"acdflow: live agent-status polling of integration {self.name}",
                "include_deferred": False,
            },
        ]

    def dag_id(self, kind: str) -> str:
        return f"{self.name}__{kind}"


@dataclass(frozen=True, slots=True)
class ConfigResult:
    path: Path
    warehouse: WarehouseSpec
    integrations: tuple[IntegrationSpec, ...]
    issues: tuple[ConfigIssue, ...]
    # None when the maintenance section is invalid: pruning with settings nobody wrote could delete
    # rows the operator meant to keep, so the maintenance DAG is then not built at all.
    maintenance: MaintenanceSpec | None = field(default_factory=MaintenanceSpec)

    def enabled(self) -> tuple[IntegrationSpec, ...]:
        return tuple(spec for spec in self.integrations if spec.enabled)


def config_path() -> Path:
    return integrations_file()


class _Invalid(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name
        self.message = message


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise _Invalid(key, f"expected true or false, got {value!r}")


def _as_int(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(key, f"expected a whole number from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise _Invalid(key, f"expected a whole number from {low} to {high}, got {value}")
    return value


def _as_str(key: str, value: Any, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _Invalid(key, f"expected {what}, got {value!r}")
    return value


def _as_start_date(key: str, value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _Invalid(
                key, f"expected an ISO date or date-time such as 2026-11-01, got {value!r}"
            ) from None
    else:
        raise _Invalid(key, f"expected an ISO date or date-time such as 2026-11-01, got {value!r}")
    if parsed.tzinfo is None:
        # A naive start date is taken as UTC: the schedule itself runs in UTC.
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    if parsed.minute % 15 or parsed.second or parsed.microsecond:
        raise _Invalid(key, f"must fall on a 15-minute boundary, got {value!r}")
    return parsed


def _as_alerts(key: str, value: Any) -> AlertSpec:
    if value is None:
        return AlertSpec()
    if not isinstance(value, Mapping):
        raise _Invalid(
            key, f"expected a mapping with webhook_conn_id / email_to / smtp_conn_id, got {value!r}"
        )
    allowed = {"webhook_conn_id", "email_to", "smtp_conn_id"}
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise _Invalid(f"{key}.{unknown[0]}", f"unknown key; accepted keys are {', '.join(sorted(allowed))}")
    webhook = value.get("webhook_conn_id")
    if webhook is not None:
        webhook = _as_str(f"{key}.webhook_conn_id", webhook, CONN_ID_PATTERN, "an Airflow connection id")
    raw_emails = value.get("email_to", [])
    if isinstance(raw_emails, str):
        raw_emails = [raw_emails]
    if not isinstance(raw_emails, Sequence):
        raise _Invalid(f"{key}.email_to", f"expected an e-mail address or a list of them, got {raw_emails!r}")
    emails = tuple(_as_str(f"{key}.email_to", e, EMAIL_PATTERN, "an e-mail address") for e in raw_emails)
    smtp = _as_str(
        f"{key}.smtp_conn_id",
        value.get("smtp_conn_id", "smtp_default"),
        CONN_ID_PATTERN,
        "an Airflow connection id",
    )
    return AlertSpec(webhook_conn_id=webhook, email_to=emails, smtp_conn_id=smtp)


def _as_tags(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise _Invalid(key, f"expected a list of tags, got {value!r}")
    tags: list[str] = []
    for tag in value:
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 100:
            raise _Invalid(key, f"each tag must be a non-empty string of at most 100 characters, got {tag!r}")
        tags.append(tag)
    return tuple(tags)


_KEYS: dict[str, str] = {
    "name": "unique lower-case slug: letters, digits, underscore; starts with a letter; at most 40",
    "system": "the external system; only '8x8'",
    "conn_id": "the Airflow connection (type eightbyeight) with the 8x8 credentials",
    "start_date": "first 15-minute interval to import (ISO date or date-time, UTC if no offset)",
    "end_date": "optional last interval boundary: runs stop at it (ISO date or date-time, UTC)",
    "enabled": "false keeps the entry but builds no DAGs (default true)",
    "correct_time_quirk": "correct 8x8's UTC/local request-time quirk (default true)",
    "lookback_minutes": "history each interactions run re-reads for late data (default 240)",
    "settle_lookback_hours": "history the daily settle run re-reads; 0 disables it (default 48)",
    "settle_hour_utc": "UTC hour whose :00 run is the daily settle run (default 2)",
    "status_overlap_minutes": "history each agent-status run re-reads (default 30)",
    "final_overlap_minutes": "history a scheduled or backfill interactions run re-reads once its "
    "data is final, older than the settle look-back (default 15)",
    "max_active_runs": "concurrent runs per DAG (default 4)",
    "api_concurrency": "slots of the integration's pool of 8x8 API tasks (default 1)",
    "retries": "task retries, at least 2 (default 3)",
    "retry_delay_seconds": "first retry delay; doubles each try (default 30)",
    "max_retry_delay_seconds": "cap on the retry delay (default 600)",
    "owner": "DAG owner shown in the Airflow UI (default wfm-data)",
    "tags": "extra DAG tags",
    "live_poll_seconds": "live agent-status poll interval, 15 to 300 (default 30)",
    "drift_check": "'fail' (default) or 'warn' when the time-drift check finds drift",
    "alerts": "failure alerts: webhook_conn_id, email_to, smtp_conn_id",
    "history_start_date": "optional first UTC day (ISO date) of the <name>__history DAG, which imports "
    "a whole day per run up to the settle horizon; no history DAG without it",
    "landing_deadline_minutes": "alert when an interval's data has not landed this long after its "
    "run was queued (when its interval closed, for a run on schedule); 0 or null disables (default 60)",
}


def documented_keys() -> Mapping[str, str]:
    """Every accepted key of an integration entry, with its meaning and default."""
    return dict(_KEYS)


def parse_integration(raw: Any, *, defaults: Mapping[str, Any] | None = None) -> IntegrationSpec:
    """Validate one entry. Raises ``_Invalid`` (use :func:`load_config` for located issues)."""
    if not isinstance(raw, Mapping):
        raise _Invalid("", f"each integration must be a mapping of keys to values, got {type(raw).__name__}")
    merged: dict[str, Any] = dict(defaults or {})
    merged.update(raw)
    unknown = sorted(str(k) for k in merged if k not in _KEYS)
    if unknown:
        raise _Invalid(unknown[0], f"unknown key; accepted keys are {', '.join(sorted(_KEYS))}")
    for required in ("name", "conn_id", "start_date"):
        if required not in merged:
            raise _Invalid(required, "is required")
    name = _as_str("name", merged["name"], NAME_PATTERN, "a lower-case slug such as 'acme_us'")
    system = merged.get("system", "8x8")
    if str(system).lower() != "8x8":
        raise _Invalid("system", f"only '8x8' is supported, got {system!r}")
    spec = IntegrationSpec(
        name=name,
        conn_id=_as_str("conn_id", merged["conn_id"], CONN_ID_PATTERN, "an Airflow connection id"),
        start_date=_as_start_date("start_date", merged["start_date"]),
        enabled=_as_bool("enabled", merged.get("enabled", True)),
        end_date=_as_end_date(merged),
        correct_time_quirk=_as_bool("correct_time_quirk", merged.get("correct_time_quirk", True)),
        lookback_minutes=_as_int("lookback_minutes", merged.get("lookback_minutes", 240), 0, 7 * 24 * 60),
        settle_lookback_hours=_as_int(
            "settle_lookback_hours", merged.get("settle_lookback_hours", 48), 0, 14 * 24
        ),
        settle_hour_utc=_as_int("settle_hour_utc", merged.get("settle_hour_utc", 2), 0, 23),
        status_overlap_minutes=_as_int(
            "status_overlap_minutes", merged.get("status_overlap_minutes", 30), 0, 24 * 60
        ),
        final_overlap_minutes=_as_int(
            "final_overlap_minutes", merged.get("final_overlap_minutes", 15), 0, 24 * 60
        ),
        max_active_runs=_as_int("max_active_runs", merged.get("max_active_runs", 4), 1, 64),
        api_concurrency=_as_int("api_concurrency", merged.get("api_concurrency", 1), 1, 16),
        retries=_as_int("retries", merged.get("retries", 3), 2, 20),
        retry_delay_seconds=_as_int("retry_delay_seconds", merged.get("retry_delay_seconds", 30), 1, 3600),
        max_retry_delay_seconds=_as_int(
            "max_retry_delay_seconds", merged.get("max_retry_delay_seconds", 600), 1, 24 * 3600
        ),
        owner=_as_str(
            "owner", merged.get("owner", "wfm-data"), re.compile(r"^[\w.@ -]{1,100}$"), "an owner name"
        ),
        tags=_as_tags("tags", merged.get("tags", [])),
        live_poll_seconds=_as_int("live_poll_seconds", merged.get("live_poll_seconds", 30), 15, 300),
        drift_check=_as_drift("drift_check", merged.get("drift_check", "fail")),
        alerts=_as_alerts("alerts", merged.get("alerts")),
        landing_deadline_minutes=_as_deadline_minutes(merged.get("landing_deadline_minutes", 60)),
        history_start_date=_as_history_start(merged.get("history_start_date")),
    )
    return spec


def _as_end_date(merged: Mapping[str, Any]) -> datetime | None:
    if merged.get("end_date") is None:
        return None
    end = _as_start_date("end_date", merged["end_date"])
    if end <= _as_start_date("start_date", merged["start_date"]):
        raise _Invalid("end_date", f"must be after start_date, got {merged['end_date']!r}")
    return end


def _as_history_start(value: Any) -> datetime | None:
    if value is None:
        return None
    start = _as_start_date("history_start_date", value)
    if start.hour or start.minute:
        # The history DAG's runs are whole UTC days.
        raise _Invalid("history_start_date", f"must be a UTC date (midnight UTC), got {value!r}")
    return start


def _as_deadline_minutes(value: Any) -> int:
    # null means no deadline, like 0. At most a day, so a value meant in seconds is refused rather
    # than silently putting the alert off for days.
    return 0 if value is None else _as_int("landing_deadline_minutes", value, 0, 24 * 60)


def _as_drift(key: str, value: Any) -> DriftMode:
    if value == "fail":
        return "fail"
    if value == "warn":
        return "warn"
    raise _Invalid(key, f"expected 'fail' or 'warn', got {value!r}")


def _parse_warehouse(raw: Any) -> WarehouseSpec:
    if raw is None:
        return WarehouseSpec()
    if not isinstance(raw, Mapping):
        raise _Invalid("warehouse", f"expected a mapping with conn_id and schema, got {raw!r}")
    unknown = sorted(str(k) for k in raw if k not in {"conn_id", "schema"})
    if unknown:
        raise _Invalid(f"warehouse.{unknown[0]}", "unknown key; accepted keys are conn_id, schema")
    return WarehouseSpec(
        conn_id=_as_str(
            "warehouse.conn_id", raw.get("conn_id", "wfm_warehouse"), CONN_ID_PATTERN, "a connection id"
        ),
        schema=_as_str(
            "warehouse.schema",
            raw.get("schema", "acd"),
            SCHEMA_PATTERN,
            "a lower-case PostgreSQL schema name (letters, digits, underscore; not pg_* or "
            "information_schema)",
        ),
    )


MIN_STAGING_HOURS = 48

_MAINTENANCE_KEYS: dict[str, str] = {
    "load_runs_days": "days the run log (load_runs) is kept (default 90)",
    "rejected_rows_days": "days quarantined rows (rejected_rows) are kept after first seen (default 180)",
    "live_log_days": "days the live-status change log is kept (default 35)",
    "dq_results_days": "days data-quality results are kept after their last check (default 400)",
    "staging_hours": "hours landed pages and staged rows of any run are kept (default 48, at least 48)",
    "schedule": "cron expression (UTC) of the maintenance DAG (default '30 3 * * *')",
    "conn_id": "Airflow connection the maintenance DAG uses (default: the warehouse connection)",
    "batch_rows": "rows deleted per statement, 100 to 100000 (default 5000)",
}


def documented_maintenance_keys() -> Mapping[str, str]:
    """Every accepted key of the ``maintenance:`` section, with its meaning and default."""
    return dict(_MAINTENANCE_KEYS)


def _as_cron(key: str, value: Any) -> str:
    # Airflow's own cron timetables parse with croniter; it ships no type stubs.
    from croniter import croniter  # type: ignore[import-untyped]

    # Five fields only: croniter also takes a sixth (seconds) field, which Airflow's timetables do not.
    if (
        not isinstance(value, str)
        or not croniter.is_valid(value)
        or (not value.startswith("@") and len(value.split()) != 5)
    ):
        raise _Invalid(key, f"expected a cron expression such as '30 3 * * *' or '@daily', got {value!r}")
    return value


def _parse_maintenance(raw: Any) -> MaintenanceSpec:
    if raw is None:
        return MaintenanceSpec()
    if not isinstance(raw, Mapping):
        raise _Invalid("maintenance", f"expected a mapping of retention settings, got {raw!r}")
    unknown = sorted(str(k) for k in raw if k not in _MAINTENANCE_KEYS)
    if unknown:
        raise _Invalid(
            f"maintenance.{unknown[0]}",
            f"unknown key; accepted keys are {', '.join(sorted(_MAINTENANCE_KEYS))}",
        )
    default = MaintenanceSpec()

    def days(key: str) -> int:
        return _as_int(f"maintenance.{key}", raw.get(key, getattr(default, key)), 1, 36500)

    conn_id = raw.get("conn_id")
    return MaintenanceSpec(
        load_runs_days=days("load_runs_days"),
        rejected_rows_days=days("rejected_rows_days"),
        live_log_days=days("live_log_days"),
        dq_results_days=days("dq_results_days"),
        staging_hours=_as_int(
            "maintenance.staging_hours",
            raw.get("staging_hours", default.staging_hours),
            MIN_STAGING_HOURS,
            24 * 90,
        ),
        schedule=_as_cron("maintenance.schedule", raw.get("schedule", default.schedule)),
        conn_id=None
        if conn_id is None
        else _as_str("maintenance.conn_id", conn_id, CONN_ID_PATTERN, "an Airflow connection id"),
        batch_rows=_as_int("maintenance.batch_rows", raw.get("batch_rows", default.batch_rows), 100, 100_000),
    )


def _entry_label(index: int, raw: Any) -> str:
    name = raw.get("name") if isinstance(raw, Mapping) else None
    if isinstance(name, str) and name:
        return f"integrations[{index}] (name {name!r})"
    return f"integrations[{index}]"


def parse_config(document: Any, *, path: Path) -> ConfigResult:
    """Validate a parsed YAML document; never raises for content problems, returns issues instead."""
    issues: list[ConfigIssue] = []
    where = str(path)
    if document is None:
        document = {}
    if not isinstance(document, Mapping):
        issue = ConfigIssue(
            where, "", f"must be a mapping with an 'integrations:' list, got {type(document).__name__}"
        )
        return ConfigResult(path, WarehouseSpec(), (), (issue,))
    top_level = {"integrations", "warehouse", "defaults", "maintenance"}
    unknown = sorted(str(k) for k in document if k not in top_level)
    if unknown:
        issues.append(
            ConfigIssue(
                where,
                unknown[0],
                "unknown top-level key; accepted: integrations, warehouse, defaults, maintenance",
            )
        )
    try:
        warehouse = _parse_warehouse(document.get("warehouse"))
    except _Invalid as exc:
        issues.append(ConfigIssue(where, exc.field_name, exc.message))
        warehouse = WarehouseSpec()
    maintenance: MaintenanceSpec | None
    try:
        maintenance = _parse_maintenance(document.get("maintenance"))
    except _Invalid as exc:
        issues.append(ConfigIssue(where, exc.field_name, exc.message))
        maintenance = None
    defaults = document.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        issues.append(
            ConfigIssue(where, "defaults", "expected a mapping of integration keys to default values")
        )
        defaults = {}
    entries = document.get("integrations") or []
    if not isinstance(entries, list):
        issues.append(ConfigIssue(where, "integrations", "expected a list of integration entries"))
        entries = []
    specs: list[IntegrationSpec] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(entries):
        label = _entry_label(index, raw)
        try:
            spec = parse_integration(raw, defaults=defaults)
        except _Invalid as exc:
            issues.append(ConfigIssue(label, exc.field_name, exc.message))
            continue
        if spec.name in seen:
            issues.append(
                ConfigIssue(
                    label,
                    "name",
                    f"duplicate name {spec.name!r}; already used by integrations[{seen[spec.name]}]",
                )
            )
            continue
        seen[spec.name] = index
        specs.append(spec)
    return ConfigResult(path, warehouse, tuple(specs), tuple(issues), maintenance)


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_BaseLoader):  # type: ignore[misc]
    """The safe loader (libyaml's when present: the file is read at every DAG-folder parse), but a
    key repeated in one mapping is an error: YAML would silently keep the last one, so a second
    ``integrations:`` block or a doubled ``conn_id`` would hide what was written first."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            # Merge keys (<<) are resolved by the base class; only written keys can repeat.
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key!r}",
                        key_node.start_mark,
                    )
                seen.add(key)
        result: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return result


def load_config(path: Path | None = None) -> ConfigResult:
    """Read and validate the integrations file (``$ACDFLOW_INTEGRATIONS`` or the default)."""
    path = Path(path) if path is not None else config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ConfigResult(path, WarehouseSpec(), (), (ConfigIssue(str(path), "", "file not found"),))
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        return ConfigResult(
            path, WarehouseSpec(), (), (ConfigIssue(str(path), "", f"is not valid YAML: {exc}"),)
        )
    return parse_config(document, path=path)


def format_issues(issues: Sequence[ConfigIssue]) -> str:
    lines = [f"{len(issues)} problem(s) in the acdflow integrations file:"]
    lines.extend(f"- {issue}" for issue in issues)
    return "\n".join(lines)


def raise_for_issues(path: Path | None = None) -> None:
    """Raise one :class:`ConfigError` listing every problem of the integrations file, if any."""
    result = load_config(path)
    if result.issues:
        raise ConfigError(format_issues(result.issues))
