"""``acdflow integrations …``: add an 8x8 integration to the YAML file and check them all.

Mirrors the product's "Add an 8x8 integration" steps: a unique name, the external system 8x8, and
the credentials (Client ID, Client secret, Account region) kept in an Airflow connection of type
``eightbyeight``.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from acdflow.config import (
    ConfigIssue,
    config_path,
    format_issues,
    load_config,
    parse_config,
    parse_integration,
)


def register(groups: Any) -> None:
    integrations = groups.add_parser("integrations", help="add and check 8x8 integrations")
    commands = integrations.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    add = commands.add_parser(
        "add",
        help="append a validated integration entry to the integrations file",
        description="Append an 8x8 integration to include/integrations.yaml (or $ACDFLOW_INTEGRATIONS).",
    )
    add.add_argument("name", help="unique lower-case name, e.g. acme_us; DAG ids start with it")
    add.add_argument("--connection", required=True, help="Airflow connection id (type eightbyeight)")
    add.add_argument("--start-date", help="first 15-minute interval to import (default: today, 00:00 UTC)")
    add.add_argument(
        "--history-start-date",
        help="first UTC day the <name>__history DAG imports, a whole day per run (default: no history DAG)",
    )
    add.add_argument(
        "--file", type=Path, help="integrations file (default: $ACDFLOW_INTEGRATIONS or include/)"
    )
    add.set_defaults(func=_add)

    check = commands.add_parser(
        "check",
        help="validate every entry and try each connection's credentials",
        description="Validate the integrations file and authenticate each enabled integration against 8x8.",
    )
    check.add_argument(
        "--file", type=Path, help="integrations file (default: $ACDFLOW_INTEGRATIONS or include/)"
    )
    check.set_defaults(func=_check)

    pools = commands.add_parser(
        "pools",
        help="print the Airflow pools the integrations need, for `airflow pools import`",
        description=(
            "Print (or write with --output) the pools of every enabled integration as JSON in the"
            " format of `airflow pools import FILE`. Without its pools, an integration's tasks stay queued."
        ),
    )
    pools.add_argument(
        "--file", type=Path, help="integrations file (default: $ACDFLOW_INTEGRATIONS or include/)"
    )
    pools.add_argument("--output", type=Path, help="write the JSON here instead of printing it")
    pools.set_defaults(func=_pools)


def _entry_text(entry: dict[str, str]) -> str:
    # JSON scalars are valid YAML and quote whatever needs quoting ("8x8", dates, ids).
    lines = [f"  - name: {json.dumps(entry['name'])}"]
    lines += [f"    {key}: {json.dumps(value)}" for key, value in entry.items() if key != "name"]
    return "\n".join(lines) + "\n"


def add_integration(
    path: Path, name: str, conn_id: str, start_date: str | None = None, history_start_date: str | None = None
) -> dict[str, str]:
    """Validate and append an entry, keeping the file's comments; raises ``SystemExit`` on problems."""
    text = path.read_text(encoding="utf-8") if path.exists() else "integrations: []\n"
    current = parse_config(yaml.safe_load(text), path=path)
    if any(issue.field in ("", "integrations") for issue in current.issues):
        raise SystemExit(f"acdflow integrations add: fix {path} first:\n{format_issues(current.issues)}")
    names = {spec.name for spec in current.integrations}
    raw_names = {
        e.get("name") for e in (yaml.safe_load(text) or {}).get("integrations") or [] if isinstance(e, dict)
    }
    if name in names or name in raw_names:
        raise SystemExit(f"acdflow integrations add: an integration named {name!r} already exists in {path}")
    entry = {
        "name": name,
        "system": "8x8",
        "conn_id": conn_id,
        "start_date": start_date or datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    if history_start_date:
        entry["history_start_date"] = history_start_date
    try:
        parse_integration(entry)
    except Exception as exc:  # the validator's located message is what the user needs
        field = getattr(exc, "field_name", "")
        raise SystemExit(f"acdflow integrations add: {ConfigIssue(name, field, str(exc))}") from None
    before = (yaml.safe_load(text) or {}).get("integrations") or []
    # Append as text so the file's comments survive; verify, and rewrite it whole only if the
    # layout made the appended entry land somewhere else.
    if "\nintegrations: []" in f"\n{text}":
        candidate = f"\n{text}".replace("\nintegrations: []", "\nintegrations:", 1)[1:]
    else:
        candidate = text
    if not candidate.endswith("\n"):
        candidate += "\n"
    candidate += _entry_text(entry)
    after = (yaml.safe_load(candidate) or {}).get("integrations") or []
    if after != [*before, entry]:
        document = yaml.safe_load(text) or {}
        document["integrations"] = [*before, entry]
        candidate = yaml.safe_dump(document, sort_keys=False)
    path.write_text(candidate, encoding="utf-8")
    return entry


def _add(args: argparse.Namespace) -> int:
    path = args.file or config_path()
    entry = add_integration(path, args.name, args.connection, args.start_date, args.history_start_date)
    name = entry["name"]
    print(f"added integration {name} (connection {entry['conn_id']}, from {entry['start_date']}) to {path}")
    history = (
        f", {name}__history (from {entry['history_start_date']})" if "history_start_date" in entry else ""
    )
    print(f"its DAGs: {name}__interactions, {name}__agent_status, {name}__live_status{history}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from acdflow.eightbyeight.hook import EightByEightHook

    result = load_config(args.file)
    failed = 0
    for issue in result.issues:
        print(f"INVALID {issue}")
        failed += 1
    for spec in result.integrations:
        if not spec.enabled:
            print(f"{spec.name}: disabled")
            continue
        try:
            ok, message = EightByEightHook(eightbyeight_conn_id=spec.conn_id).test_connection()
        except Exception as exc:  # e.g. the connection does not exist
            ok, message = False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        print(f"{spec.name}: {'OK' if ok else 'FAILED'} - {message}")
        failed += 0 if ok else 1
    if not result.integrations and not result.issues:
        print(f"no integrations in {result.path}")
    return 1 if failed else 0


def pool_document(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every enabled integration's pools, keyed by name as ``airflow pools import`` expects."""
    result = load_config(path)
    if result.issues:
        raise SystemExit(format_issues(result.issues))
    return {pool["name"]: pool for spec in result.integrations if spec.enabled for pool in spec.pools()}


def _pools(args: argparse.Namespace) -> int:
    text = json.dumps(pool_document(args.file), indent=2)
    if args.output:
        args.output.write_text(text + "\n")
        print(f"wrote {args.output}; create the pools with: airflow pools import {args.output}")
    else:
        print(text)
    return 0
