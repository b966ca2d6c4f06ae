"""A sample integration wired to local parts: the embedded PostgreSQL warehouse and the 8x8
simulator on loopback. ``make demo`` and ``make airflow`` start it; nothing here is used in a
deployment."""

from __future__ import annotations

import json
import secrets
import shutil
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from acdflow.config import IntegrationSpec, WarehouseSpec, parse_config
from acdflow_dev import REPO_ROOT
from acdflow_dev.embedded import airflow_conn_from_uri

DEMO_ROOT = REPO_ROOT / ".acdflow" / "demo"
NAME = "demo"
CONN_ID = "eightbyeight_demo"
WAREHOUSE_CONN_ID = "wfm_warehouse"
TIMEZONE = "America/New_York"
REGION = "us"
FIFTEEN = timedelta(minutes=15)


def floor_interval(instant: datetime) -> datetime:
    return instant.replace(minute=instant.minute - instant.minute % 15, second=0, microsecond=0)


@dataclass
class SampleStack:
    """Embedded PostgreSQL + simulator + an integrations file with one integration, ``demo``."""

    root: Path = DEMO_ROOT
    scale: int = 20_000  # interactions per day
    agents: int = 60
    hours: int = 2
    fresh: bool = True
    start_date: datetime = field(default_factory=lambda: floor_interval(datetime.now(UTC)))
    warehouse_uri: str = ""
    sim_url: str = ""
    sim: Any = None
    _stack: ExitStack = field(default_factory=ExitStack, init=False)
    _client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(18), init=False)

    def __post_init__(self) -> None:
        self.start_date = floor_interval(self.start_date) - timedelta(hours=self.hours)

    @property
    def config_path(self) -> Path:
        return self.root / "integrations.yaml"

    @property
    def end(self) -> datetime:
        return self.start_date + timedelta(hours=self.hours)

    def start(self) -> SampleStack:
        from acdflow_dev.embedded import EmbeddedPostgres
        from acdflow_dev.sim import SimConfig, Simulator

        if self.fresh and self.root.exists():
            # A previous demo's server may still hold its data directory; stop it before wiping.
            pg_dir = self.root / "pg"
            if (pg_dir / "postmaster.pid").exists():
                EmbeddedPostgres(pg_dir).start()
                EmbeddedPostgres(pg_dir).stop()
            shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)
        server = self._stack.enter_context(EmbeddedPostgres(self.root / "pg"))
        self.warehouse_uri = server.uri
        self.sim = Simulator(
            SimConfig.single(
                tenant_id="demo01",
                region=REGION,
                timezone=TIMEZONE,
                scale=self.scale,
                agents=self.agents,
                seed=7,
                client_id="demo-client",
                client_secret=self._client_secret,
            )
        )
        self.sim_url = self._stack.enter_context(self.sim.serve(host="127.0.0.1", port=0)).base_url
        self.write_config()
        return self

    def write_config(self) -> None:
        document = {
            "warehouse": {"conn_id": WAREHOUSE_CONN_ID, "schema": "acd"},
            "integrations": [
                {
                    "name": NAME,
                    "system": "8x8",
                    "conn_id": CONN_ID,
                    "start_date": self.start_date.isoformat(),
                    "api_concurrency": 2,
                    "retry_delay_seconds": 5,
                    "live_poll_seconds": 15,
                    # The daily settle run re-reads 48 h by default; a demo tenant is 2 h old.
                    "settle_lookback_hours": 6,
                }
            ],
        }
        self.config_path.write_text(
            "# The sample integration of `make demo` / `make airflow`, pointing at the local simulator.\n"
            + yaml.safe_dump(document, sort_keys=False)
        )

    def spec(self) -> tuple[IntegrationSpec, WarehouseSpec]:
        result = parse_config(yaml.safe_load(self.config_path.read_text()), path=self.config_path)
        if result.issues:
            raise RuntimeError(f"the sample integrations file is invalid: {result.issues}")
        return result.integrations[0], result.warehouse

    def connections(self) -> dict[str, dict[str, Any]]:
        """The two Airflow connections, in the JSON form of ``AIRFLOW_CONN_*`` and ``connections import``."""
        return {
            CONN_ID: {
                "conn_type": "eightbyeight",
                "description": "8x8 Contact Center (local simulator)",
                "login": "demo-client",
                "password": self._client_secret,
                "host": self.sim_url,
                # Spelled as the form's Account region choices (US, EU, AU, CA): the hook accepts any
                # case, but the UI's edit form shows no region for a value outside its choices.
                "extra": json.dumps({"region": REGION.upper(), "timezone": TIMEZONE}),
            },
            WAREHOUSE_CONN_ID: airflow_conn_from_uri(
                self.warehouse_uri, description="WFM warehouse (embedded PostgreSQL)"
            ),
        }

    def env(self) -> dict[str, str]:
        env = {f"AIRFLOW_CONN_{cid.upper()}": json.dumps(c) for cid, c in self.connections().items()}
        env["ACDFLOW_INTEGRATIONS"] = str(self.config_path)
        return env

    def stop(self) -> None:
        self._stack.close()

    def __enter__(self) -> SampleStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
