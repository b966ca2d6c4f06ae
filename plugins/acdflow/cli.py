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


def build_parser(
    prog: str = "acdflow",
    description: str = "Import 8x8 contact-center data into a WFM warehouse with Apache Airflow.",
    groups: dict[str, str] = _GROUPS,
) -> argparse.ArgumentParser:
    """A parser with one sub-command group per entry of ``groups`` (name -> module)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    subparsers = parser.add_subparsers(dest="group", metavar="GROUP")
    subparsers.required = True
    for module_name in groups.values():
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    args = (parser or build_parser()).parse_args(argv)
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
