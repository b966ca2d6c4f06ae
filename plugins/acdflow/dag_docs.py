"""The ``doc_md`` of each DAG kind, shown on the DAG's page in the Airflow UI.

Templates filled by :func:`acdflow.factory.build_dag` with the integration's settings.
"""

INTERACTIONS_DOC = """\
### {name}: 8x8 queue data → WFM warehouse

Imports calls, chats, e-mails and voicemails of the 8x8 integration **{name}** (connection
`{conn_id}`) every 15 minutes into `{schema}.interactions`, and average handle time per
interval, queue and channel into `{schema}.interval_aht`.

Each run covers one 15-minute data interval `[start, end)` in UTC and asks 8x8 for interactions
created in `[start − {lookback} min, end)`, so interactions that finish after their interval was
first imported still arrive (8x8 leaves ongoing interactions out of its reports). Once a day the
run of the {settle_hour:02d}:00 UTC interval re-reads {settle} hours, for interactions that stay
open longer (0 hours = disabled). Request times are
sent as tenant-local wall clock (8x8 reads them that way) — `correct_time_quirk: {quirk}`.

Steps: `authenticate` → `trigger_report` → `wait_for_report` → `extract` (raw pages into
`{schema}.raw_report_pages`) → `transform` (product rules; bad rows quarantined in
`{schema}.rejected_rows` with a reason) → `load` (keyed upsert, one transaction) →
`aggregate_aht` (recomputes every interval the load touched). Every step writes a row to
`{schema}.load_runs`.

**Re-running a range** is safe: loads are idempotent per interval. Clear the runs in the UI
(Browse → Dag Runs, filter, Clear) or from the command line:

    airflow tasks clear {dag_id} -s 2026-11-01T00:00 -e 2026-11-02T00:00 -y
    airflow backfill create --dag-id {dag_id} --from-date 2026-11-01T00:00 --to-date 2026-11-02T00:00 \\
        --reprocess-behavior completed
"""


AGENT_STATUS_DOC = """\
### {name}: 8x8 historical agent statuses → WFM warehouse

Imports the agent status changes of the 8x8 integration **{name}** (connection `{conn_id}`) every
15 minutes into `{schema}.agent_status_history`, for intraday adherence.

Each run covers one 15-minute data interval `[start, end)` in UTC and reads 8x8's
`detailed-reports-agent-status-change` events of `[start − {overlap} min, end)`. Every event starts
a status (`OnBreak (Lunch)`, `LoggedOut`, …) that lasts until the same agent's next event; an
agent's latest status stays open (`end_time` empty) until a later run brings the next event.
Request times are sent as tenant-local wall clock — `correct_time_quirk: {quirk}`.

Steps: `authenticate` → `trigger_report` → `wait_for_report` → `extract` → `transform` → `load`
→ `check_time_drift`: Great Expectations checks that the events fall in the requested UTC window,
carry the tenant's UTC offset, and agree with the live statuses; results go to
`{schema}.dq_results` (`acdflow dq docs` renders them as a page). Drift {drift_effect}; the
loaded data stays in place.

**Re-running a range** is safe (keyed upserts; end times are re-linked):

    airflow tasks clear {dag_id} -s 2026-11-01T00:00 -e 2026-11-02T00:00 -y
"""


HISTORY_DOC = """\
### {name}: 8x8 history → WFM warehouse, a whole day per run

Imports the history of the 8x8 integration **{name}** (connection `{conn_id}`) from
`history_start_date` ({history_start}) up to the settle horizon, one UTC day per run: data older
than {horizon} hours, which 8x8 no longer changes. Each run reads its day in one interactions report
(and {final_overlap} minutes before it, for interactions created before the day and queued in it)
and one agent-status report, through the same transforms and idempotent loads as
`{name}__interactions` and `{name}__agent_status`, so both import the same rows; then it
recomputes the AHT of the day's 96 intervals and checks the day's statuses for time drift. Request
times are sent as tenant-local wall clock, so a day's request spans 23 or 25 local hours on DST
change days — `correct_time_quirk: {quirk}`.

Steps: `authenticate`, then `interactions.*` (`trigger_report` → `wait_for_report` → `extract` →
`transform` → `load` → `aggregate_aht`) and `agent_status.*` (… → `load` → `check_time_drift`).
Up to {concurrency} days run at once (`api_concurrency`; the API tasks share the pool `{pool}`
with the 15-minute DAGs). As days become final the DAG imports each of them once more: pause it
when that final pass is not wanted.

**Re-importing a range** is safe: clear its runs like any other.

    airflow tasks clear {dag_id} -s 2025-01-01T00:00 -e 2025-02-01T00:00 -y
"""


LIVE_DOC = """\
### {name}: 8x8 live agent status → real-time adherence

Polls 8x8's realtime `GET /agents` (`status.rt`, `statusCode.rt`, `timeOnStatus.rt`,
`lastLogin.rt`, `lastLogout.rt`, `loggedInTime.rt`) of integration **{name}** (connection
`{conn_id}`) every **{poll} s** and keeps:

* `{schema}.agent_status_live`: one current row per agent — status name (`OnBreak (Lunch)`; no
  reason on `LoggedOut`), start = lastLogin + loggedInTime − timeOnStatus (LoggedOut: start = end
  = lastLogout), `observed_at` = the warehouse's clock at the poll that first saw this status;
* `{schema}.agent_status_live_log`: one row per observed **change** (not per poll), to replay
  adherence. A start that moved by ≤ 2 s with the same status name is not a change.

Agents with null inputs (e.g. never logged in) are skipped and counted (`skipped` in
`{schema}.load_runs`). `{schema}.live_poll_owner.heartbeat_at` shows that polling is alive.

**The loop.** Runs have 15-minute data intervals, catch-up off, at most 2 active. The
`poll_live_status` task of the run for `[S, E)` polls from `E` until `E + 15 min + {grace} s`
(grace = max(2 × poll interval, 60 s)). At start it claims `live_poll_owner`; a run of a later
interval takes over from the previous one, which stops within seconds, so consecutive runs hand
over without a gap or an overlap. A run whose window is already in the past (a manual run of an
old interval) polls exactly once. Each poll fetches all pages, maps them, then writes the
changed rows, the log rows and the owner heartbeat in one transaction; a poll by a run that lost
ownership writes nothing.

**Freshness.** A status change reaches `{schema}.agent_status_live` within one poll interval plus
the poll's latency (≈ {poll} s + < 1 s), also across handovers; required: 60 s. Configure with
`live_poll_seconds` (15–300).

**API cost** per hour with poll interval p s and A agents: (3600 / p) × ceil(A / 1000) `/agents`
requests + 2 token requests per run (`authenticate` and the poller's client; a token lives 30 min)
× 4 runs. Here: {per_hour} requests/hour at ≤ 1,000 agents (defaults 30 s: 120 + 8 = 128).

**Pool.** Both tasks use pool `{pool}` (2 slots, deferred tasks not counted), separate from the
report DAGs' pool. `poll_live_status` defers for its window: the polling runs in Airflow's
triggerer, so it holds no worker slot and no pool slot while it polls. The two slots let the next
run start while the previous one still finishes at a handover.
"""
