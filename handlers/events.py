"""Events API listeners: link unfurling (SPEC 9.3) and the App Home (9.4).

Events are acknowledged at once (Slack retries an event that is not, and a retry would unfurl
twice); the work runs in a tracked task.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import cards, extract, views
from bot.logs import get_logger
from bot.lookup import Asker, LookupService, Services
from bot.metrics import METRICS
from bot.query import Kind, Query
from bot.tasks import TaskTracker
from handlers.modals import ModalLookups
from handlers.payload import obj

log = get_logger("bik.events")
Ack = Callable[..., Awaitable[Any]]
HomeExtension = Callable[[dict[str, Any], dict[str, Any], str], Awaitable[dict[str, Any]]]
"""Adds to the Home view published for a person: ``(view, body, user_id) -> view``."""

MAX_UNFURLS = 3
"""Links unfurled per message, at most (SPEC 9.3)."""


class EventHandlers:
    def __init__(
        self, *, services: Services, tasks: TaskTracker, dashboard_url: str | None, modals: ModalLookups
    ) -> None:
        self._services = services
        self._modals = modals
        self._tasks = tasks
        self._dashboard_url = dashboard_url
        self.extend_home: HomeExtension | None = None
        """Distribution mode's admin section (``handlers/admin.py`` sets it), added to every Home view."""

    @property
    def _service(self) -> LookupService:
        """The lookup service of the workspace this request is for."""
        return self._services()

    async def link_shared(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        self._tasks.spawn(self._unfurl(body, client), name="unfurl")

    async def _unfurl(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        event = obj(body, "event")
        channel = str(event.get("channel") or event.get("channel_id") or "")
        if event.get("source") == "composer":
            channel = "COMPOSER"  # a preview while typing: no channel is known yet
        links: dict[str, Query] = {}
        for link in event.get("links") or []:
            url = link.get("url") if isinstance(link, dict) else None
            if not isinstance(url, str) or len(links) >= MAX_UNFURLS:
                continue
            bik_id = extract.bik_id_from_url(url, self._dashboard_url)
            if bik_id is not None:
                links.setdefault(url, Query(Kind.BIK, bik_id))
        if not links:
            return
        asker = Asker(
            team_id=str(body.get("team_id") or ""), channel_id=channel, user_id=str(event.get("user") or "")
        )
        queries = tuple(dict.fromkeys(links.values()))
        accepted = await self._service.admit_unfurl(asker, queries)
        if accepted is None:
            return  # refused or composer: nothing is posted, not even a stub (the decision is audited)
        results = {r.query: r for r in await self._service.results(accepted)}
        unfurls = {
            url: views.unfurl_attachment(found, accepted.view, dashboard_url=self._dashboard_url)
            for url, query in links.items()
            if isinstance(found := results.get(query), cards.Found)
        }
        if not unfurls:
            return
        try:
            await client.chat_unfurl(channel=channel, ts=str(event.get("message_ts") or ""), unfurls=unfurls)
            METRICS.reply("unfurl", True)
        except Exception as exc:  # noqa: BLE001 - logged in plain words; nothing else to do
            error = getattr(getattr(exc, "response", None), "data", {}) or {}
            log.error(
                "unfurl_failed", error=error.get("error") if isinstance(error, dict) else type(exc).__name__
            )
            METRICS.reply("unfurl", False)

    async def app_home_opened(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        event = obj(body, "event")
        if event.get("tab") != "home" or not event.get("user"):
            return
        self._tasks.spawn(self.publish_home(body, str(event["user"]), client), name="home")

    async def publish_home(self, body: dict[str, Any], user_id: str, client: AsyncWebClient) -> None:
        asker = Asker(team_id=str(body.get("team_id") or ""), channel_id="", user_id=user_id)
        home = await self._service.home(asker)
        view = views.home_view(
            can_look_up=home.reach is not None and home.reach.direct_messages,
            places=home.reach
            or views.Places(everywhere=False, channels=(), except_channels=(), direct_messages=False),
            recent=home.recent,
            recent_enabled=home.recent_enabled,
        )
        if self.extend_home is not None:
            view = await self.extend_home(view, body, user_id)
        await self._modals.send("views_publish", client.views_publish(user_id=user_id, view=view))


def register(app: AsyncApp, handlers: EventHandlers) -> None:
    app.event("link_shared")(handlers.link_shared)
    app.event("app_home_opened")(handlers.app_home_opened)
