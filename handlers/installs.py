"""Distribution mode's lifecycle events (SPEC 11): ``app_uninstalled`` and ``tokens_revoked``.

Bolt authorizes neither (``slack_bolt/middleware/authorization/internals.py``), and its own
revocation listeners delete the bot row but can leave the installation row, which carries the same
token. Ours delete both, and the workspace's BIK credentials and policy on uninstall, through
:meth:`bot.tenants.Tenants.revoke`; the token is not used again, not even for ``auth.test``.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.logs import get_logger
from bot.tenants import Tenants, installation_ids

log = get_logger("bik.install")


class InstallHandlers:
    def __init__(self, *, tenants: Tenants) -> None:
        self._tenants = tenants

    async def app_uninstalled(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await self._tenants.revoke(*installation_ids(body), uninstall=True)

    async def tokens_revoked(self, ack: AsyncAck, body: dict[str, Any], event: dict[str, Any]) -> None:
        await ack()
        tokens = event.get("tokens") if isinstance(event.get("tokens"), dict) else {}
        if tokens and tokens.get("bot"):
            await self._tenants.revoke(*installation_ids(body), uninstall=False)
        else:  # user tokens only: the app asks for no user scopes, so it holds none
            log.info("user_tokens_revoked", users=len(tokens.get("oauth") or []) if tokens else 0)


def register(bolt: AsyncApp, handlers: InstallHandlers) -> None:
    bolt.event("app_uninstalled")(handlers.app_uninstalled)
    bolt.event("tokens_revoked")(handlers.tokens_revoked)
