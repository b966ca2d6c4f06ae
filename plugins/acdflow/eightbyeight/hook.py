"""Airflow hook for 8x8 Contact Center: adapts an Airflow connection to :class:`EightByEightClient`.

The hook reads its Connection only when asked (``get_settings``/``get_client``/``test_connection``),
never at construction or import, so DAG files can build hooks at parse time at no cost.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret

from acdflow.eightbyeight.client import EightByEightClient
from acdflow.eightbyeight.connection_form import CONN_TYPE, HOOK_NAME, UI_FIELD_BEHAVIOUR
from acdflow.eightbyeight.errors import EightByEightError
from acdflow.eightbyeight.settings import EightByEightSettings, settings_from_connection


def _mask_token(token: str) -> None:
    # Connection passwords are masked by Airflow automatically; tokens we obtain are not
    # (engineering notes), so every new token is registered with the task's secrets masker.
    mask_secret(token)


class EightByEightHook(BaseHook):
    """Gives tasks an :class:`EightByEightClient` configured from an ``eightbyeight`` connection."""

    conn_name_attr = "eightbyeight_conn_id"
    default_conn_name = "eightbyeight_default"
    conn_type = CONN_TYPE
    hook_name = HOOK_NAME

    def __init__(self, eightbyeight_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.eightbyeight_conn_id = eightbyeight_conn_id

    def get_settings(self) -> EightByEightSettings:
        """Validated settings from the connection; raises ConfigurationError naming bad fields."""
        conn = self.get_connection(self.eightbyeight_conn_id)
        return self._settings(conn, conn.extra_dejson)

    async def aget_settings(self) -> EightByEightSettings:
        """:meth:`get_settings` for a coroutine (a trigger): the connection is looked up and its
        secrets are masked without blocking the event loop."""
        conn = await self.aget_connection(self.eightbyeight_conn_id)
        return self._settings(conn, await conn.aextra_dejson())

    def _settings(self, conn: Any, extra: dict[str, Any]) -> EightByEightSettings:
        host = conn.host
        if host and "://" not in host and conn.port:
            # URI-form connections split host and port; the form hides the port field.
            host = f"{host}:{conn.port}"
        return settings_from_connection(
            conn.login, conn.password, host, extra, conn_id=self.eightbyeight_conn_id
        )

    def get_client(self) -> EightByEightClient:
        return EightByEightClient(self.get_settings(), secret_masker=_mask_token)

    def get_conn(self) -> EightByEightClient:
        """Airflow's generic accessor; same as :meth:`get_client`."""
        return self.get_client()

    def test_connection(self) -> tuple[bool, str]:
        """Authenticate and make one realtime call; the message never contains a secret or token."""
        try:
            settings = self.get_settings()
            with EightByEightClient(settings, secret_masker=_mask_token) as client:
                client.check_access()
        except EightByEightError as exc:
            # The error texts are built without secrets (see errors.py).
            return False, str(exc)
        tenant = f", tenant {settings.tenant_id!r}" if settings.tenant_id else ""
        return (
            True,
            f"Connected to 8x8 Contact Center (region {settings.region.upper()}{tenant}): "
            "credentials accepted and the realtime API answered.",
        )

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Legacy form of the field behaviour; Airflow 3.3 reads provider info instead."""
        return {
            "hidden_fields": list(UI_FIELD_BEHAVIOUR["hidden-fields"]),
            "relabeling": dict(UI_FIELD_BEHAVIOUR["relabeling"]),
            "placeholders": dict(UI_FIELD_BEHAVIOUR["placeholders"]),
        }
