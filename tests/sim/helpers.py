"""Shared helpers of the simulator tests: paths, constants and a small ``requests`` client."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

OPENAPI_DIR = Path(__file__).resolve().parents[1] / "data" / "8x8-openapi"  # see SOURCE.md there
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


# The fields of the two detailed report types as ``(key, label)``, from the field glossaries of 8x8's
# detailed-report guide (developer.8x8.com, "CC Historical Analytics Detailed Report"): 95 and 14
# fields, in the glossary's order except that ``participantLongestFocusDuration`` comes before
# ``participantLongestHoldDuration``. The simulator's report-type catalogue and row labels are checked
# against these lists. Labels are copied from 8x8's sample responses where a sample shows the field;
# the rows marked below appear in no sample, and no sample of an agent-status-change row exists, so
# those labels are assumed (the field's name in 8x8's label style).
INTERACTION_FIELDS: tuple[tuple[str, str], ...] = (
    ("agentNotes", "Agent Notes"),
    ("blindTransferToAgent", "Blind Transfer To Agent"),
    ("blindTransferToQueue", "Blind Transfer To Queue"),
    ("campaignId", "Campaign ID"),
    ("campaignName", "Campaign Name"),
    ("caseFollowUp", "Case Follow Up"),
    ("caseNumber", "Case Number"),
    ("channelId", "Channel ID"),
    ("channelName", "Channel Name"),  # label not shown in 8x8's samples
    ("chatType", "Chat Type"),  # label not shown in 8x8's samples
    ("conferencesEstablished", "Conferences Established"),
    ("consultationsEstablished", "Consultations Established"),
    ("creationTime", "Creation Time"),
    ("customerEmail", "Customer Email"),  # label not shown in 8x8's samples
    ("customerJourneyDuration", "Customer Journey Duration"),  # label not shown in 8x8's samples
    ("customerName", "Customer Name"),
    ("customerPhone", "Customer Phone"),  # label not shown in 8x8's samples
    ("destination", "Destination"),
    ("destinationQueueId", "Destination Queue ID"),  # label not shown in 8x8's samples
    ("destinationQueueName", "Destination Queue Name"),  # label not shown in 8x8's samples
    ("direction", "Direction"),
    ("dispositionAction", "Disposition Action"),
    ("externalTransactionData", "External Transaction Data"),
    ("facebookId", "Facebook ID"),  # label not shown in 8x8's samples
    ("finishedTime", "Finished Time"),
    ("interactionDuration", "Interaction Duration"),
    ("interactionId", "Interaction ID"),
    ("interactionLabels", "Labels"),
    ("interactionType", "Type"),
    ("ivrTreatmentDuration", "IVR Treatment Duration"),
    ("journeyId", "Journey ID"),  # label not shown in 8x8's samples
    ("mediaType", "Media Type"),
    ("originalInteractionId", "Original Interaction ID"),
    ("originalTransactionId", "Original Transaction ID"),
    ("origination", "Origination"),
    ("outboundPhoneCode", "Outbound Phone Code"),
    ("outboundPhoneCodeId", "Outbound Phone Code ID"),
    ("outboundPhoneCodeList", "Outbound Phone Code List"),
    ("outboundPhoneCodeListId", "Outbound Phone Code List ID"),
    ("outboundPhoneCodeText", "Outbound Phone Code Text"),
    ("outboundPhoneShortCode", "Outbound Phone Short Code"),
    ("outcome", "Outcome"),  # label not shown in 8x8's samples
    ("participantAssignNumber", "Assign #"),
    ("participantAssignReason", "Assign Reason"),  # label not shown in 8x8's samples
    ("participantAssignTime", "Assign Time"),  # label not shown in 8x8's samples
    ("participantBusyDuration", "Busy Duration"),
    ("participantComments", "Comments"),  # label not shown in 8x8's samples
    ("participantFocus", "Focus"),  # label not shown in 8x8's samples
    ("participantFocusDuration", "Focus Duration"),  # label not shown in 8x8's samples
    ("participantGroupId", "Group ID"),  # label not shown in 8x8's samples
    ("participantGroupName", "Group Name"),  # label not shown in 8x8's samples
    ("participantHandlingDuration", "Handling Duration"),
    ("participantHandlingEndTime", "Handling End Time"),
    ("participantHandlingOutcome", "Handling Outcome"),  # label not shown in 8x8's samples
    ("participantHold", "Hold"),
    ("participantHoldDuration", "Hold Duration"),
    ("participantId", "Participant ID"),
    ("participantLongestFocusDuration", "Longest Focus Duration"),  # label not shown in 8x8's samples
    ("participantLongestHoldDuration", "Longest Hold Duration"),
    ("participantLongestMuteDuration", "Longest Mute Duration"),  # label not shown in 8x8's samples
    ("participantMute", "Mute"),  # label not shown in 8x8's samples
    ("participantMuteDuration", "Mute Duration"),  # label not shown in 8x8's samples
    ("participantName", "Participant"),
    ("participantOfferAction", "Offer Action"),
    ("participantOfferActionTime", "Offer Action Time"),
    ("participantOfferDuration", "Offer Duration"),
    ("participantOfferTime", "Offer Time"),
    ("participantParkDuration", "Park Duration"),  # label not shown in 8x8's samples
    ("participantPark", "Park"),  # label not shown in 8x8's samples
    ("participantProcessingDuration", "Processing Duration"),
    ("participantType", "Participant Type"),
    ("participantWrapUpDuration", "Wrap Up Duration"),
    ("participantWrapUpEndTime", "Wrap Up End Time"),
    ("queueId", "Queue ID"),
    ("queueName", "Queue Name"),
    ("queueTime", "Queue Time"),
    ("queueWaitDuration", "Queue Wait Duration"),
    ("recordId", "Record ID"),
    ("recordingFileNames", "Recording File Names"),  # label not shown in 8x8's samples
    ("scheduleHours", "Schedule Hours"),  # label not shown in 8x8's samples
    ("state", "State"),  # label not shown in 8x8's samples
    ("subject", "Subject"),  # label not shown in 8x8's samples
    ("terminatedBy", "Terminated By"),  # label not shown in 8x8's samples
    ("time", "Time"),
    ("timeToAbandon", "Time To Abandon"),  # label not shown in 8x8's samples
    ("transactionId", "Transaction ID"),
    ("transfers", "Transfers"),  # label not shown in 8x8's samples
    ("twitterId", "Twitter ID"),  # label not shown in 8x8's samples
    ("warmTransfersCompleted", "Warm Transfers Completed"),
    ("wrapUpCode", "Wrap Up Code"),
    ("wrapUpCodeId", "Wrap Up Code ID"),
    ("wrapUpCodeList", "Wrap Up Code List"),
    ("wrapUpCodeListId", "Wrap Up Code List ID"),
    ("wrapUpCodeText", "Wrap Up Code Text"),
    ("wrapUpShortCode", "Wrap Up Short Code"),
)

# No 8x8 sample shows these labels (see above).
AGENT_STATUS_FIELDS: tuple[tuple[str, str], ...] = (
    ("agent", "Agent"),
    ("agentGroup", "Agent Group"),
    ("agentGroupId", "Agent Group ID"),
    ("agentId", "Agent ID"),
    ("interactionId", "Interaction ID"),
    ("status", "Status"),
    ("statusCode", "Status Code"),
    ("statusCodeId", "Status Code ID"),
    ("statusCodeList", "Status Code List"),
    ("statusCodeListId", "Status Code List ID"),
    ("statusCodeShortCode", "Status Code Short Code"),
    ("statusCodeText", "Status Code Text"),
    ("time", "Time"),
    ("transactionId", "Transaction ID"),
)

_FIELDS = {
    INTERACTIONS: INTERACTION_FIELDS,
    AGENT_STATUS: AGENT_STATUS_FIELDS,
}


def report_fields(report_type: str) -> list[tuple[str, str]]:
    """``(key, label)`` of every field of a detailed report type (``INTERACTIONS`` or ``AGENT_STATUS``)."""
    return list(_FIELDS[report_type])
