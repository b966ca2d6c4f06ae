"""The ``acdflow`` command line: ``acdflow <group> <command> ...``.

Each command group lives next to the code it drives and registers itself here, so this module
stays a thin dispatcher and importing it stays cheap.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# group name -> module exposing ``register(subparsers)``; each registered parser sets ``func``.
_GROUPS: dict[str, str] = {
    "db": "acdflow.warehouse.cli",
    "dq": "acdflow.quality.cli",
    "integrations": "acdflow.integrations_cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acdflow",
        description="Import 8x8 contact-center data into a WFM warehouse with Apache Airflow.",
    )
    groups = parser.add_subparsers(dest="group", metavar="GROUP")
    groups.required = True
    for module_name in _GROUPS.values():
        importlib.import_module(module_name).register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
