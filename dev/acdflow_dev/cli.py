"""The ``acdflow-dev`` command line: the simulator (``sim``) and the demo (``demo``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from acdflow.cli import build_parser
from acdflow.cli import main as run

_GROUPS: dict[str, str] = {
    "demo": "acdflow_dev.local.demo",
    "sim": "acdflow_dev.sim.cli",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(
        "acdflow-dev", "acdflow development tools: the 8x8 simulator and the demo.", _GROUPS
    )
    return run(argv, parser)


if __name__ == "__main__":
    sys.exit(main())
