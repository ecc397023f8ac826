"""Slack facts for the access policy, from the Web API, cached briefly and bounded in time.

Every call runs before the acknowledgement, so each is bounded well inside Slack's 3-second deadline
(``timeout``), and the callers run them concurrently. Failure rules (SPEC section 5):
- ``conversations.info`` failing -> the channel is treated as shared (mask what the channel sees);
- ``users.info`` or ``usergroups.users.list`` failing -> :class:`DirectoryUnavailable` (the command is
  refused with "try again"; nobody gets in because Slack was down).
Answers are cached for a short time (Slack's Tier 2-4 rate limits); failures are not cached, except
that a 429 pauses that method for its ``Retry-After`` (the failure rule applies meanwhile).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.coalesce import TtlCache
from bot.delivery import retry_after_seconds
from bot.logs import get_logger
from bot.lookup import DirectoryUnavailable

log = get_logger("bik.slack")
MAX_RETRY_AFTER = 300.0


UNKNOWN_RETRY_AFTER = 30.0  # a 429 without a usable Retry-After: a cautious pause


@dataclass(frozen=True, slots=True)
class UserFacts:
    """What ``users.info`` says that the policy needs: a guest? of which workspace and org?"""

    guest: bool
    team_id: str | None
    enterprise_id: str | None


class SlackDirectory:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        timeout: float = 1.0,
        channel_ttl: float = 60.0,
        user_ttl: float = 300.0,
        group_ttl: float = 120.0,
    ) -> None:
        self._client = client
        self._timeout = timeout
        self._channels: TtlCache[bool] = TtlCache(channel_ttl)
        self._users: TtlCache[UserFacts] = TtlCache(user_ttl)
        self._groups: TtlCache[frozenset[str]] = TtlCache(group_ttl)
        self._rate_limited_until: dict[str, float] = {}

    async def _call(self, method: str, **params: Any) -> dict[str, Any]:
        wait = self._rate_limited_until.get(method, 0.0) - time.monotonic()
        if wait > 0:  # Slack answered 429: honour its Retry-After instead of asking again
            raise DirectoryUnavailable(f"{method}: rate limited for {wait:.0f} s more")
        call = getattr(self._client, method.replace(".", "_"))
        try:
            response = await asyncio.wait_for(call(**params), self._timeout)
        except SlackApiError as exc:
            data = getattr(exc.response, "data", None)  # a dict, or the raw text of a non-JSON answer
            error = data.get("error") if isinstance(data, dict) else None
            if exc.response.status_code == 429:
                headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
                retry_after = retry_after_seconds(headers.get("retry-after"))
                if retry_after is None:
                    retry_after = UNKNOWN_RETRY_AFTER
                self._rate_limited_until[method] = time.monotonic() + min(retry_after, MAX_RETRY_AFTER)
                log.warning("slack_rate_limited", method=method, retry_after_s=retry_after)
            raise DirectoryUnavailable(
                f"{method}: {error or 'HTTP ' + str(exc.response.status_code)}"
            ) from None
        except Exception as exc:  # noqa: BLE001 - timeouts, aiohttp's errors, anything the SDK raises
            raise DirectoryUnavailable(f"{method}: {type(exc).__name__}") from None
        data = response.data if isinstance(response.data, dict) else {}
        if not data.get("ok"):
            raise DirectoryUnavailable(f"{method}: {data.get('error', 'not ok')}")
        return data

    async def channel_is_shared(self, channel_id: str) -> bool:
        async def load() -> bool:
            channel = (await self._call("conversations.info", channel=channel_id)).get("channel") or {}
            return bool(channel.get("is_ext_shared") or channel.get("is_pending_ext_shared"))

        try:
            return await self._channels.get(channel_id, load)
        except DirectoryUnavailable as exc:
            log.warning("channel_info_unavailable", channel=channel_id, error=str(exc), treated_as="shared")
            return True

    async def _user(self, user_id: str) -> UserFacts:
        async def load() -> UserFacts:
            user = (await self._call("users.info", user=user_id)).get("user") or {}
            grid = user.get("enterprise_user")
            enterprise: dict[str, Any] = grid if isinstance(grid, dict) else {}
            return UserFacts(
                guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
                team_id=user.get("team_id") if isinstance(user.get("team_id"), str) else None,
                enterprise_id=enterprise.get("enterprise_id")
                if isinstance(enterprise.get("enterprise_id"), str)
                else None,
            )

        try:
            return await self._users.get(user_id, load)
        except DirectoryUnavailable as exc:
            log.warning("user_info_unavailable", user=user_id, error=str(exc))
            raise

    async def user_is_guest(self, user_id: str) -> bool:
        return (await self._user(user_id)).guest

    async def user_home(self, user_id: str) -> tuple[str | None, str | None]:
        facts = await self._user(user_id)
        return facts.team_id, facts.enterprise_id

    async def usergroup_members(self, group_id: str) -> frozenset[str]:
        async def load() -> frozenset[str]:
            users = (await self._call("usergroups.users.list", usergroup=group_id)).get("users") or []
            return frozenset(u for u in users if isinstance(u, str))

        try:
            return await self._groups.get(group_id, load)
        except DirectoryUnavailable as exc:
            log.warning("usergroup_unavailable", usergroup=group_id, error=str(exc))
            raise
