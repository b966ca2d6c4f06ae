"""Shared helpers of the simulator tests: paths, constants and a small ``requests`` client."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CONTRACT = SHARED / "docs" / "8x8-api-contract.md"
OPENAPI_DIR = SHARED / "reference" / "8x8-openapi"
NOW = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # 13:00 PDT, a Tuesday
CLIENT = ("acdflow-demo", "acdflow-demo-secret")
INTERACTIONS = "detailed-reports-interaction-details"
AGENT_STATUS = "detailed-reports-agent-status-change"


class Api:
    """Thin test client; deliberately independent of ``acdflow.eightbyeight``."""

    def __init__(self, base_url: str, region_prefix: str = "", tenant: str | None = None) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.prefix = region_prefix
        self.tenant = tenant
        self._token: str | None = None

    @property
    def hist(self) -> str:
        return f"{self.base_url}{self.prefix}/analytics/cc/v8/historical-metrics"

    @property
    def rt(self) -> str:
        return f"{self.base_url}{self.prefix}/analytics/cc/v5/realtime-metrics"

    def fetch_token(self, auth: tuple[str, str] = CLIENT) -> requests.Response:
        return self.session.post(
            f"{self.base_url}/oauth/v2/token",
            auth=auth,
            data={"grant_type": "client_credentials"},
            headers={"Accept": "application/json"},
            timeout=10,
        )

    @property
    def token(self) -> str:
        if self._token is None:
            response = self.fetch_token()
            assert response.status_code == 200, response.text
            self._token = str(response.json()["access_token"])
        return self._token

    def headers(self, **extra: str) -> dict[str, str]:
        out = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if self.tenant is not None:
            out["X-Tenant-Info"] = self.tenant
        out.update(extra)
        return out

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", None) or self.headers()
        return self.session.get(url, headers=headers, timeout=30, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", None) or self.headers()
        return self.session.post(url, headers=headers, timeout=30, **kwargs)

    def create(self, body: dict[str, Any]) -> requests.Response:
        return self.post(f"{self.hist}/detailed-reports", json=body)

    def create_id(self, body: dict[str, Any]) -> int:
        response = self.create(body)
        assert response.status_code == 200, response.text
        payload = response.json()
        assert payload["status"] == "DONE", payload
        return int(payload["id"])

    def data(self, report_id: int, **params: Any) -> requests.Response:
        return self.get(f"{self.hist}/detailed-reports/{report_id}/data", params=params)

    def all_rows(self, report_id: int, size: int = 1000) -> tuple[list[dict[str, Any]], int]:
        """Every row by following ``Last-Document-Id``; also returns the number of pages read."""
        rows: list[dict[str, Any]] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, Any] = {"size": size}
            if cursor:
                params["lastDocumentId"] = cursor
            response = self.data(report_id, **params)
            assert response.status_code == 200, response.text
            pages += 1
            rows.extend(response.json())
            cursor = response.headers.get("Last-Document-Id")
            if not cursor:
                return rows, pages
            assert pages < 10_000


def body(report_type: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": report_type,
        "title": "Sim test report",
        "dateRange": {"start": start, "end": end},
        **extra,
    }


def items(row: dict[str, Any]) -> dict[str, Any]:
    return {item["key"]: item["value"] for item in row["items"]}


def parse_ts(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    assert parsed.utcoffset() is not None, text
    return parsed.astimezone(UTC)


def contract_fields(heading: str) -> list[tuple[str, str]]:
    """``(key, label)`` rows of a field table in the contract (8.1 or 9.1), read from the markdown."""
    lines = CONTRACT.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(heading))
    while not lines[index].startswith("| key"):
        index += 1
    out: list[tuple[str, str]] = []
    for line in lines[index + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        out.append((cells[0].strip("`"), cells[1].replace(" (assumed)", "")))
    return out
