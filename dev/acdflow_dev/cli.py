"""The ``acdflow-dev`` command line: the simulator (``sim``) and the demo (``demo``)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

_GROUPS: dict[str, str] = {
    "demo": "acdflow_dev.local.demo",
    "sim": "acdflow_dev.sim.cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acdflow-dev", description="acdflow development tools: the 8x8 simulator and the demo."
    )
    groups = parser.add_subparsers(dest="group", metavar="GROUP")
    groups.required = True
    for module_name in _GROUPS.values():
        importlib.import_module(module_name).register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
