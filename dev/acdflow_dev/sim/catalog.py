"""Field catalogues of the two detailed report types and the realtime agent metrics.

The lists are 8x8's field glossaries verbatim: the 95 fields of ``detailed-reports-interaction-details``
and the 14 of ``detailed-reports-agent-status-change`` from the detailed-report guide, and the
``/agents`` metrics of the realtime guide. Labels of fields that appear in no 8x8 sample are our
guesses, served like the others. Format codes (``fmt``) drive rendering:

``S`` text, ``N`` count (string at row level, integer inside ``participants``), ``D`` duration,
``T`` timestamp, ``F`` ``finishedTime`` (timestamp wrapped as ``{value, ongoing}``), ``E`` enumeration,
``A`` array of strings, ``P`` participant identity (array of strings at row level), ``C`` comments
(array of objects). ``filter`` is the operator class: ``str``, ``num`` or ``nf`` (not filterable).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldSpec:
    key: str
    label: str
    fmt: str
    filter: str


INTERACTION_TYPE = "detailed-reports-interaction-details"
AGENT_STATUS_TYPE = "detailed-reports-agent-status-change"
DETAILED_TYPES = (INTERACTION_TYPE, AGENT_STATUS_TYPE)

OPERATORS = ("=", "!=", ">", ">=", "<=", "<", "contains", "not-in", "in", "is-empty", "is-not-empty")
STR_OPERATORS = frozenset({"in", "not-in", "contains", "is-empty", "is-not-empty"})
NUM_OPERATORS = frozenset({"=", "!=", ">", ">=", "<", "<=", "is-empty", "is-not-empty"})

INTERACTION_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("agentNotes", "Agent Notes", "S", "str"),
    FieldSpec("blindTransferToAgent", "Blind Transfer To Agent", "N", "num"),
    FieldSpec("blindTransferToQueue", "Blind Transfer To Queue", "N", "num"),
    FieldSpec("campaignId", "Campaign ID", "S", "str"),
    FieldSpec("campaignName", "Campaign Name", "S", "str"),
    FieldSpec("caseFollowUp", "Case Follow Up", "S", "str"),
    FieldSpec("caseNumber", "Case Number", "S", "str"),
    FieldSpec("channelId", "Channel ID", "S", "str"),
    FieldSpec("channelName", "Channel Name", "S", "str"),
    FieldSpec("chatType", "Chat Type", "E", "str"),
    FieldSpec("conferencesEstablished", "Conferences Established", "N", "num"),
    FieldSpec("consultationsEstablished", "Consultations Established", "N", "num"),
    FieldSpec("creationTime", "Creation Time", "T", "nf"),
    FieldSpec("customerEmail", "Customer Email", "S", "str"),
    FieldSpec("customerJourneyDuration", "Customer Journey Duration", "D", "num"),
    FieldSpec("customerName", "Customer Name", "S", "str"),
    FieldSpec("customerPhone", "Customer Phone", "S", "str"),
    FieldSpec("destination", "Destination", "S", "str"),
    FieldSpec("destinationQueueId", "Destination Queue ID", "S", "str"),
    FieldSpec("destinationQueueName", "Destination Queue Name", "S", "str"),
    FieldSpec("direction", "Direction", "E", "str"),
    FieldSpec("dispositionAction", "Disposition Action", "E", "str"),
    FieldSpec("externalTransactionData", "External Transaction Data", "S", "str"),
    FieldSpec("facebookId", "Facebook ID", "S", "str"),
    FieldSpec("finishedTime", "Finished Time", "F", "nf"),
    FieldSpec("interactionDuration", "Interaction Duration", "D", "num"),
    FieldSpec("interactionId", "Interaction ID", "S", "str"),
    FieldSpec("interactionLabels", "Labels", "A", "str"),
    FieldSpec("interactionType", "Type", "E", "str"),
    FieldSpec("ivrTreatmentDuration", "IVR Treatment Duration", "D", "num"),
    FieldSpec("journeyId", "Journey ID", "S", "str"),
    FieldSpec("mediaType", "Media Type", "E", "str"),
    FieldSpec("originalInteractionId", "Original Interaction ID", "S", "str"),
    FieldSpec("originalTransactionId", "Original Transaction ID", "S", "str"),
    FieldSpec("origination", "Origination", "S", "str"),
    FieldSpec("outboundPhoneCode", "Outbound Phone Code", "S", "str"),
    FieldSpec("outboundPhoneCodeId", "Outbound Phone Code ID", "S", "str"),
    FieldSpec("outboundPhoneCodeList", "Outbound Phone Code List", "S", "str"),
    FieldSpec("outboundPhoneCodeListId", "Outbound Phone Code List ID", "S", "str"),
    FieldSpec("outboundPhoneCodeText", "Outbound Phone Code Text", "S", "str"),
    FieldSpec("outboundPhoneShortCode", "Outbound Phone Short Code", "S", "str"),
    FieldSpec("outcome", "Outcome", "E", "str"),
    FieldSpec("participantAssignNumber", "Assign #", "N", "num"),
    FieldSpec("participantAssignReason", "Assign Reason", "E", "str"),
    FieldSpec("participantAssignTime", "Assign Time", "T", "nf"),
    FieldSpec("participantBusyDuration", "Busy Duration", "D", "num"),
    FieldSpec("participantComments", "Comments", "C", "str"),
    FieldSpec("participantFocus", "Focus", "N", "num"),
    FieldSpec("participantFocusDuration", "Focus Duration", "D", "num"),
    FieldSpec("participantGroupId", "Group ID", "S", "str"),
    FieldSpec("participantGroupName", "Group Name", "S", "str"),
    FieldSpec("participantHandlingDuration", "Handling Duration", "D", "num"),
    FieldSpec("participantHandlingEndTime", "Handling End Time", "T", "nf"),
    FieldSpec("participantHandlingOutcome", "Handling Outcome", "E", "str"),
    FieldSpec("participantHold", "Hold", "N", "num"),
    FieldSpec("participantHoldDuration", "Hold Duration", "D", "num"),
    FieldSpec("participantId", "Participant ID", "P", "str"),
    FieldSpec("participantLongestFocusDuration", "Longest Focus Duration", "D", "num"),
    FieldSpec("participantLongestHoldDuration", "Longest Hold Duration", "D", "num"),
    FieldSpec("participantLongestMuteDuration", "Longest Mute Duration", "D", "num"),
    FieldSpec("participantMute", "Mute", "N", "num"),
    FieldSpec("participantMuteDuration", "Mute Duration", "D", "num"),
    FieldSpec("participantName", "Participant", "P", "str"),
    FieldSpec("participantOfferAction", "Offer Action", "P", "str"),
    FieldSpec("participantOfferActionTime", "Offer Action Time", "T", "nf"),
    FieldSpec("participantOfferDuration", "Offer Duration", "D", "num"),
    FieldSpec("participantOfferTime", "Offer Time", "T", "nf"),
    FieldSpec("participantParkDuration", "Park Duration", "D", "num"),
    FieldSpec("participantPark", "Park", "N", "num"),
    FieldSpec("participantProcessingDuration", "Processing Duration", "D", "num"),
    FieldSpec("participantType", "Participant Type", "P", "str"),
    FieldSpec("participantWrapUpDuration", "Wrap Up Duration", "D", "num"),
    FieldSpec("participantWrapUpEndTime", "Wrap Up End Time", "T", "nf"),
    FieldSpec("queueId", "Queue ID", "S", "str"),
    FieldSpec("queueName", "Queue Name", "S", "str"),
    FieldSpec("queueTime", "Queue Time", "T", "nf"),
    FieldSpec("queueWaitDuration", "Queue Wait Duration", "D", "num"),
    FieldSpec("recordId", "Record ID", "S", "str"),
    FieldSpec("recordingFileNames", "Recording File Names", "S", "str"),
    FieldSpec("scheduleHours", "Schedule Hours", "E", "str"),
    FieldSpec("state", "State", "E", "str"),
    FieldSpec("subject", "Subject", "S", "str"),
    FieldSpec("terminatedBy", "Terminated By", "E", "str"),
    FieldSpec("time", "Time", "T", "nf"),
    FieldSpec("timeToAbandon", "Time To Abandon", "D", "num"),
    FieldSpec("transactionId", "Transaction ID", "S", "str"),
    FieldSpec("transfers", "Transfers", "S", "str"),
    FieldSpec("twitterId", "Twitter ID", "S", "str"),
    FieldSpec("warmTransfersCompleted", "Warm Transfers Completed", "N", "num"),
    FieldSpec("wrapUpCode", "Wrap Up Code", "A", "str"),
    FieldSpec("wrapUpCodeId", "Wrap Up Code ID", "A", "str"),
    FieldSpec("wrapUpCodeList", "Wrap Up Code List", "A", "str"),
    FieldSpec("wrapUpCodeListId", "Wrap Up Code List ID", "A", "str"),
    FieldSpec("wrapUpCodeText", "Wrap Up Code Text", "A", "str"),
    FieldSpec("wrapUpShortCode", "Wrap Up Short Code", "A", "str"),
)
AGENT_STATUS_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("agent", "Agent", "S", "str"),
    FieldSpec("agentGroup", "Agent Group", "S", "str"),
    FieldSpec("agentGroupId", "Agent Group ID", "S", "str"),
    FieldSpec("agentId", "Agent ID", "S", "str"),
    FieldSpec("interactionId", "Interaction ID", "S", "str"),
    FieldSpec("status", "Status", "E", "str"),
    FieldSpec("statusCode", "Status Code", "S", "str"),
    FieldSpec("statusCodeId", "Status Code ID", "S", "str"),
    FieldSpec("statusCodeList", "Status Code List", "S", "str"),
    FieldSpec("statusCodeListId", "Status Code List ID", "S", "str"),
    FieldSpec("statusCodeShortCode", "Status Code Short Code", "S", "str"),
    FieldSpec("statusCodeText", "Status Code Text", "S", "str"),
    FieldSpec("time", "Time", "T", "nf"),
    FieldSpec("transactionId", "Transaction ID", "S", "str"),
)

INTERACTION_FIELD_MAP: dict[str, FieldSpec] = {f.key: f for f in INTERACTION_FIELDS}
AGENT_STATUS_FIELD_MAP: dict[str, FieldSpec] = {f.key: f for f in AGENT_STATUS_FIELDS}
FIELDS_BY_TYPE: dict[str, dict[str, FieldSpec]] = {
    INTERACTION_TYPE: INTERACTION_FIELD_MAP,
    AGENT_STATUS_TYPE: AGENT_STATUS_FIELD_MAP,
}
PARTICIPANTS_LABEL = "Participants"

# Key order of one ``participants`` element: the order of 8x8's own sample.
PARTICIPANT_KEYS: tuple[str, ...] = (
    "participantAssignNumber",
    "participantType",
    "participantId",
    "participantName",
    "participantOfferTime",
    "participantOfferAction",
    "participantOfferActionTime",
    "participantOfferDuration",
    "participantHandlingEndTime",
    "participantHandlingDuration",
    "participantWrapUpEndTime",
    "participantWrapUpDuration",
    "participantProcessingDuration",
    "participantBusyDuration",
    "participantFocus",
    "participantFocusDuration",
    "participantLongestFocusDuration",
    "warmTransfersCompleted",
    "blindTransferToAgent",
    "blindTransferToQueue",
    "consultationsEstablished",
    "conferencesEstablished",
    "participantHold",
    "participantHoldDuration",
    "participantLongestHoldDuration",
    "wrapUpCode",
    "wrapUpCodeId",
    "wrapUpCodeList",
    "wrapUpCodeListId",
    "wrapUpCodeText",
    "wrapUpShortCode",
)

# Realtime /agents metrics (the agent metric glossary of 8x8's realtime guide): 18 snapshot metrics
# plus 42 metrics that each exist for the three periods = 144 ids.
REALTIME_RT_METRICS: tuple[str, ...] = (
    "activeChannels.rt",
    "activeDirections.rt",
    "activeInteractionsCount.rt",
    "activeQueues.rt",
    "alerting.rt",
    "lastLogin.rt",
    "lastLogout.rt",
    "lastStatusChange.rt",
    "lastStatusCodeChange.rt",
    "line1Status.rt",
    "line1TimeOnStatus.rt",
    "line2Status.rt",
    "line2TimeOnStatus.rt",
    "loggedInTime.rt",
    "status.rt",
    "statusCode.rt",
    "timeOnStatus.rt",
    "timeOnStatusCode.rt",
)
REALTIME_PERIOD_METRIC_NAMES: tuple[str, ...] = (
    "accepted",
    "availableTime",
    "availableTimePercentage",
    "averageHandlingTime",
    "averageHoldTime",
    "averageOfferingTime",
    "averageWrapUpTime",
    "blindTransfers",
    "busyTime",
    "busyTimePercentage",
    "conferenceTime",
    "conferences",
    "consultations",
    "directInboundTime",
    "directInbounds",
    "directOutboundTime",
    "directOutbounds",
    "handlingTime",
    "handlingTimePercentage",
    "hold",
    "internalCalls",
    "internalCallsInitiated",
    "internalCallsReceived",
    "internalCallsTime",
    "loggedInTime",
    "longestHold",
    "longestOffering",
    "offered",
    "offeringTime",
    "onBreakTime",
    "onBreakTimePercentage",
    "onHoldTime",
    "rejectTimeout",
    "rejected",
    "transfersInitiated",
    "transfersInitiatedPercentage",
    "transfersReceived",
    "warmTransfers",
    "workingOfflineTime",
    "workingOfflineTimePercentage",
    "wrapUpTime",
    "wrapUpTimePercentage",
)
REALTIME_PERIODS: tuple[str, ...] = ("int-15m", "int-30m", "today")
REALTIME_AGENT_METRICS: tuple[str, ...] = tuple(
    sorted(
        REALTIME_RT_METRICS
        + tuple(f"{name}.{period}" for name in REALTIME_PERIOD_METRIC_NAMES for period in REALTIME_PERIODS)
    )
)
REALTIME_AGENT_METRIC_SET = frozenset(REALTIME_AGENT_METRICS)
# Snapshot metrics whose values are not numbers; they get no ``total.`` entry in the totals element.
REALTIME_NON_NUMERIC = frozenset(
    {
        "activeChannels.rt",
        "activeDirections.rt",
        "activeQueues.rt",
        "lastLogin.rt",
        "lastLogout.rt",
        "lastStatusChange.rt",
        "lastStatusCodeChange.rt",
        "line1Status.rt",
        "line2Status.rt",
        "status.rt",
        "statusCode.rt",
    }
)
