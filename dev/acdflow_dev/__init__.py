"""Development tooling for acdflow: the local 8x8 simulator, the embedded PostgreSQL, the demo, a
local Airflow runner and the ground-truth comparison shared by tests, benchmarks and the soak run.

Nothing in the ``acdflow`` package imports this one; it is installed by the ``make`` targets for
development only and never ships in the product wheel or ``requirements.txt``.
"""

from __future__ import annotations

from pathlib import Path

# The checkout this package is installed from (editable): demo files and artefacts go under it.
REPO_ROOT = Path(__file__).resolve().parents[2]
