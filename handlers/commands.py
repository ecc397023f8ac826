"""The slash command listener: payload -> LookupService -> ack (and maybe a response_url post).

Delivery (SPEC section 3, the second design): the lookup starts at once; if its reply is ready within
``ack_budget`` seconds of the request's arrival it travels inside the acknowledgement itself (no extra
round trip to Slack), otherwise the ack carries a short "still looking" note and the reply follows
through ``response_url``. Either way the reply is delivered exactly once: the finished job is handed
to one of the two paths, never both.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import cards
from bot.delivery import ResponseUrlPoster
from bot.logs import get_logger
from bot.lookup import Accepted, Asker, Immediate, LookupService, Services
from bot.metrics import METRICS
from bot.tasks import TaskTracker

log = get_logger("bik.commands")
Ack = Callable[..., Awaitable[Any]]

ANY_COMMAND = re.compile(r"^/")
"""Every slash command of this app lands here: a workspace that renames the command still works,
and nothing ends in Bolt's unhandled-request 404 (``dispatch_failed`` for the user)."""


def asker_from_command(body: dict[str, Any]) -> Asker:
    return Asker(
        team_id=str(body.get("team_id") or ""),
        channel_id=str(body.get("channel_id") or ""),
        user_id=str(body.get("user_id") or ""),
        channel_name=body.get("channel_name"),
        user_team_id=body.get("team_id") or None,
        enterprise_id=body.get("enterprise_id") or None,
    )


class CommandHandler:
    def __init__(
        self,
        *,
        services: Services,
        poster: ResponseUrlPoster,
        tasks: TaskTracker,
        ack_budget: float = 2.0,
    ) -> None:
        self._services = services
        self._poster = poster
        self._tasks = tasks
        self._ack_budget = ack_budget

    @property
    def _service(self) -> LookupService:
        """The lookup service of the workspace this request is for."""
        return self._services()

    async def __call__(self, ack: Ack, body: dict[str, Any], context: dict[str, Any]) -> None:
        received = context.get("received_at") or time.monotonic()
        asker = asker_from_command(body)
        try:
            started = await self._service.start(asker, body.get("text"))
        except Exception:
            log.exception("command_failed", channel=asker.channel_id, user=asker.user_id)
            await ack(cards.text_message(":warning: Something went wrong in the bot; the error is logged."))
            return
        if isinstance(started, Immediate):
            await ack(started.message)
            METRICS.reply("ack", True)
            return
        await self._lookup(ack, started, received, body.get("response_url"))

    async def _lookup(self, ack: Ack, accepted: Accepted, received: float, response_url: str | None) -> None:
        job = self._tasks.spawn(self._service.complete(accepted), name="lookup")
        remaining = self._ack_budget - (time.monotonic() - received)
        if remaining > 0:
            await asyncio.wait({job}, timeout=remaining)
        if job.done():
            await ack(job.result())
            METRICS.reply("ack", True)
            return
        await ack(cards.pending_message())
        self._tasks.spawn(self._deliver_later(job, response_url), name="deliver")

    async def _deliver_later(self, job: asyncio.Task[cards.Message], response_url: str | None) -> None:
        await self._poster.post(response_url, await job)


def register(app: AsyncApp, handler: CommandHandler) -> None:
    app.command(ANY_COMMAND)(handler)
