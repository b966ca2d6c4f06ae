"""``acdflow-dev sim serve``: run the 8x8 simulator in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import datetime
from types import FrameType
from typing import Any

from acdflow_dev.sim.config import REGIONS, SimConfig, TenantConfig


def register(subparsers: Any) -> None:
    """Add the ``sim`` command group to the top-level ``acdflow`` parser."""
    group = subparsers.add_parser("sim", help="local 8x8 API simulator")
    commands = group.add_subparsers(dest="sim_command", metavar="COMMAND")
    commands.required = True
    serve = commands.add_parser("serve", help="serve the simulator over HTTP until interrupted")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8808, help="0 picks a free port")
    serve.add_argument("--client-id", default="acdflow-demo")
    serve.add_argument("--client-secret", default="acdflow-demo-secret")
    serve.add_argument("--region", choices=sorted(REGIONS), default="us")
    serve.add_argument("--seed", type=int, default=1)
    serve.add_argument("--scale", type=int, default=2000, help="interactions per day")
    serve.add_argument("--tz", default="America/Los_Angeles", help="tenant default IANA time zone")
    serve.add_argument("--no-quirk", action="store_true", help="honour dateRange instants as written")
    serve.add_argument("--faults", default="", help="fault spec, e.g. 'rate=0.05;kinds=429,503'")
    serve.add_argument("--tenant-id", default="acmecorp01")
    serve.add_argument(
        "--extra-tenant",
        action="append",
        default=[],
        metavar="ID:REGION:ZONE",
        help="another tenant of the same credential (makes X-Tenant-Info mandatory)",
    )
    serve.add_argument("--now", default=None, help="fixed simulator clock, ISO-8601 with offset")
    serve.set_defaults(func=serve_command)


def _config(args: argparse.Namespace) -> SimConfig:
    tenants = [TenantConfig(args.tenant_id, args.region, args.tz, args.scale)]
    for spec in args.extra_tenant:
        parts = spec.split(":", 2)
        if len(parts) != 3:
            raise SystemExit(f"--extra-tenant expects ID:REGION:ZONE, got {spec!r}")
        tenants.append(TenantConfig(parts[0], parts[1], parts[2], args.scale))
    now = None
    if args.now:
        now = datetime.fromisoformat(args.now.replace("Z", "+00:00"))
        if now.utcoffset() is None:
            raise SystemExit("--now needs an offset, e.g. 2026-03-10T14:00:00Z")
    return SimConfig(
        seed=args.seed,
        client_id=args.client_id,
        client_secret=args.client_secret,
        tenants=tuple(tenants),
        quirk=not args.no_quirk,
        faults=args.faults,
        now=now,
    )


def serve_command(args: argparse.Namespace) -> int:
    from acdflow_dev.sim.server import SimServer
    from acdflow_dev.sim.simulator import Simulator

    try:
        config = _config(args)
        sim = Simulator(config)
        server = SimServer(sim, args.host, args.port)
    except (ValueError, KeyError, OSError) as exc:  # ZoneInfoNotFoundError is a KeyError
        print(f"acdflow-dev sim: {exc}", file=sys.stderr)
        return 2

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() blocks until serve_forever returns, so it must run off the serving thread.
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    tenants = ", ".join(f"{t.tenant_id} ({t.region}, {t.timezone})" for t in config.tenants)
    print(f"acdflow-dev sim: serving {server.base_url} for {tenants}", flush=True)
    server.serve_forever()
    print("acdflow-dev sim: stopped", flush=True)
    return 0
