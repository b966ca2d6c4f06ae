"""Error text fit to leave a task: for alerts and ``load_runs.error``.

Connection passwords and every 8x8 token the client obtained are registered with Airflow's
secrets masker; an exception that quoted one is masked here through Airflow's public ``redact``.
If redaction cannot run (the API is missing, or it raised), the message goes out without the
error text: never unredacted.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

MAX_LENGTH = 500
WITHHELD = "error text withheld: it could not be redacted"


def _redact(text: str) -> str:
    from airflow.providers.common.compat.sdk import redact

    return str(redact(text))


def error_summary(error: object) -> str:
    """``Type: first line of the message``, redacted and cut to :data:`MAX_LENGTH` characters."""
    if error is None:
        return "unknown error"
    name = type(error).__name__
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else ""
    try:
        redacted = _redact(first)
    except Exception:  # fail closed: any failure of the masker withholds the text
        log.warning("redaction failed; the error text of a %s is withheld", name, exc_info=False)
        return f"{name}: {WITHHELD}"
    return f"{name}: {redacted}"[:MAX_LENGTH]
