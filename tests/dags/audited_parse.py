"""Parse the DAG folder the way a DAG processor would, in a fresh process whose metadata database
is unusable, without a warehouse connection, and with an audit hook recording every socket
connection: parse time must touch none of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO_ROOT, airflow_env

_SCRIPT = """
import json, sys
connects = []
def audit(event, args):
    if event == "socket.connect":
        connects.append(repr(args))
sys.addaudithook(audit)
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={dags!r})
report = {{
    "dags": sorted(bag.dag_ids),
    "errors": {{k.rsplit("/", 1)[-1]: v for k, v in bag.import_errors.items()}},
    "connects": connects,
}}
{extra}
print(json.dumps(report))
"""


def audited_parse(tmp_path: Path, document: dict[str, Any], extra: str = "") -> dict[str, Any]:
    """``document`` is the integrations file; ``extra`` is Python run after parsing that may add
    JSON-able entries to ``report`` from ``bag``."""
    cfg = tmp_path / "integrations.yaml"
    cfg.write_text(yaml.safe_dump(document))
    script = _SCRIPT.format(dags=str(REPO_ROOT / "dags"), extra=textwrap.dedent(extra))
    env = {
        **os.environ,
        **airflow_env(),
        "ACDFLOW_INTEGRATIONS": str(cfg),
        # Any Variable/Connection lookup or DB access at parse time would fail against these.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://nobody@127.0.0.1:9/none",
        "AIRFLOW_CONN_WFM_WAREHOUSE": "",
    }
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    report: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return report
