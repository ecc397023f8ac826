"""Lookups shown in a modal: the message shortcut, the global shortcut, the Home tab's buttons.

A modal is opened at once, inside the trigger's 3 seconds and before any BIK call, saying it is
looking; the lookup then runs through the core (:meth:`LookupService.admit`, the same policy, rate
limit, masking and audit as the command) and the modal is updated with the cards or the refusal.
Posting to a channel (Share in channel, "Also post to") is admitted again for that channel and
masked as anything the whole channel reads.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot import cards, views
from bot.delivery import ResponseUrlPoster
from bot.logs import get_logger
from bot.lookup import Accepted, Asker, Immediate, LookupService, Services
from bot.metrics import METRICS
from bot.query import Query
from bot.tasks import TaskTracker

log = get_logger("bik.modals")

OPEN_WITHIN = 3.0
"""A ``trigger_id`` lives 3 s: an open that has not answered by then cannot succeed."""


class ModalLookups:
    def __init__(self, *, services: Services, poster: ResponseUrlPoster, tasks: TaskTracker) -> None:
        self._services = services
        self.poster = poster
        self.tasks = tasks

    @property
    def service(self) -> LookupService:
        """The lookup service of the workspace this request is for."""
        return self._services()

    def open_soon(self, client: AsyncWebClient, trigger_id: Any, view: dict[str, Any]) -> None:
        """Open a modal in a tracked task: the listener returns (and Slack gets its ack) at once,
        whatever ``views.open`` takes."""
        self.tasks.spawn(self.open(client, trigger_id, view), name="views.open")

    def open_and_fill(
        self, client: AsyncWebClient, trigger_id: Any, asker: Asker, queries: tuple[Query, ...], **fill: Any
    ) -> None:
        """Open a "looking up" modal, then run the lookup into it; when the modal did not open (an
        expired or replayed trigger), nothing is looked up or charged."""

        async def flow() -> None:
            loading = views.loading_modal("BIK customer", ":mag: Looking up…")
            view_id = await self.open(client, trigger_id, loading)
            if view_id is not None:
                await self.fill(client, view_id, asker, queries, **fill)

        self.tasks.spawn(flow(), name=str(fill.get("surface", "modal")))

    async def open(self, client: AsyncWebClient, trigger_id: Any, view: dict[str, Any]) -> str | None:
        """``views.open``, bounded by the trigger's own life (3 s from Slack's click); the new view's
        id, or None (logged) when Slack refused it or did not answer in time."""
        try:
            opened = await asyncio.wait_for(client.views_open(trigger_id=trigger_id, view=view), OPEN_WITHIN)
        except Exception as exc:  # noqa: BLE001 - a refused or late open: logged, nothing to show
            error = getattr(getattr(exc, "response", None), "data", {}) or {}
            log.warning(
                "views_open_failed",
                error=error.get("error") if isinstance(error, dict) else type(exc).__name__,
            )
            METRICS.reply("views", False)
            return None
        METRICS.reply("views", True)
        view_id = (opened.get("view") or {}).get("id")
        return str(view_id) if view_id else None

    async def push(self, client: AsyncWebClient, trigger_id: Any, view: dict[str, Any]) -> str | None:
        """``views.push``: a modal on top of the modal that was clicked (bounded like :meth:`open`)."""
        try:
            pushed = await asyncio.wait_for(client.views_push(trigger_id=trigger_id, view=view), OPEN_WITHIN)
        except Exception as exc:  # noqa: BLE001 - a refused or late push: logged, nothing to show
            log.warning("views_push_failed", error=type(exc).__name__)
            METRICS.reply("views", False)
            return None
        METRICS.reply("views", True)
        view_id = (pushed.get("view") or {}).get("id")
        return str(view_id) if view_id else None

    async def update(self, client: AsyncWebClient, view_id: str | None, view: dict[str, Any]) -> None:
        if view_id:
            await self.send("views_update", client.views_update(view_id=view_id, view=view))

    async def send(self, method: str, call: Awaitable[Any]) -> None:
        """A views.update or views.publish: counted, and logged (never raised) when Slack refuses it."""
        try:
            await call
            METRICS.reply("views", True)
        except Exception:
            log.exception(f"{method}_failed")
            METRICS.reply("views", False)

    async def fill(
        self,
        client: AsyncWebClient,
        view_id: str | None,
        asker: Asker,
        queries: tuple[Query, ...],
        *,
        surface: str,
        metadata: str = "",
        direct_messages_rule: bool = False,
        share_from_modal: bool = False,
        more: int = 0,
        post_to: tuple[str, str] | None = None,
    ) -> None:
        """Run the lookup for a modal the person alone sees and show the outcome in it; with
        ``post_to`` (channel id, response_url), also post the cards there when that channel allows."""
        started = await self.service.admit(
            asker,
            queries,
            surface=surface,
            private=True,
            direct_messages_rule=direct_messages_rule,
            share_button=False,
        )
        if isinstance(started, Immediate):
            await self.update(client, view_id, cards.notice_modal("Not allowed", started.message["text"]))
            return
        results = await self.service.results(started)
        note = await self._post(asker, queries, post_to) if post_to else None
        share = share_from_modal and started.rule.share
        modal = views.results_modal(
            results,
            dataclasses.replace(started.view, refresh=False),
            share=share,
            private_metadata=metadata,
            more=more,
            note=note,
        )
        await self.update(client, view_id, modal)

    async def _post(self, asker: Asker, queries: tuple[Query, ...], post_to: tuple[str, str]) -> str:
        """Post for the whole channel (SPEC 9.2): that channel's rule must allow the person and
        sharing; masked as the channel reads. Returns the line the modal shows about it."""
        channel_id, response_url = post_to
        there = dataclasses.replace(asker, channel_id=channel_id, channel_name=None)
        started = await self.service.admit(
            there, queries, surface="share", private=False, share_button=False, charge=False
        )
        if isinstance(started, Immediate):
            return "Not posted: " + str(started.message["text"]).removeprefix(":no_entry_sign: ")
        if not started.rule.share:
            for query in queries:
                self.service.audit_interaction(there, query, outcome="denied", reason="share_not_allowed")
            return "Not posted: sharing customer cards is turned off in that channel."
        return await self.post_cards(there, started, response_url)

    async def post_cards(self, asker: Asker, accepted: Accepted, response_url: str) -> str:
        """Only customers found are posted: an error is the asker's business (the modal shows it),
        not the channel's."""
        found = [r for r in await self.service.results(accepted) if isinstance(r, cards.Found)]
        if not found:
            return "Not posted: no customer was found to post."
        view = dataclasses.replace(accepted.view, shared_by=asker.user_id, response_type="in_channel")
        message = {**cards.lookup_message(found, view), "response_type": "in_channel"}
        delivered = await self.poster.post(response_url, message, purpose="share")
        return "Posted to the channel." if delivered else "Slack did not take the post; try again."
