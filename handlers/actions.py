"""Button listeners. Each one re-checks the access policy for the channel it is used in and the user
who clicked, spends the clicker's rate limit, and re-fetches the customer from BIK: a button's value
is only a query, never data. What a click shows is masked for who can see it: a modal opened from a
card the whole channel reads is masked as that card is.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import cards, views
from bot.cards import Failed, Found, View
from bot.delivery import ResponseUrlPoster
from bot.logs import current_ref, get_logger
from bot.lookup import Asker, Immediate, LookupService, Services
from bot.masking import mask_customer
from bot.tasks import TaskTracker
from handlers.modals import ModalLookups
from handlers.payload import asker_from_action, obj

log = get_logger("bik.actions")
ANY = re.compile(".*")
Ack = Callable[..., Awaitable[Any]]


def _value(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    return str(actions[0].get("value") or "")


def _on_private_message(body: dict[str, Any]) -> bool:
    """Was the button on a message only the clicker sees? Only Slack's own ``container`` can say so
    (not the button's value); anything else — an in-channel or shared card, an unknown container —
    counts as read by the whole channel."""
    container = obj(body, "container")
    return container.get("type") == "message" and container.get("is_ephemeral") is True


class ActionHandlers:
    def __init__(
        self,
        *,
        services: Services,
        poster: ResponseUrlPoster,
        tasks: TaskTracker,
        dashboard_url: str | None,
        modals: ModalLookups,
    ) -> None:
        self._services = services
        self._poster = poster
        self._tasks = tasks
        self._dashboard_url = dashboard_url
        self._modals = modals

    @property
    def _service(self) -> LookupService:
        """The lookup service of the workspace this request is for."""
        return self._services()

    async def open_in_bik(self, ack: Ack) -> None:
        """A link button: Slack opens the URL; the click still needs its ack."""
        await ack()

    async def share(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        self._tasks.spawn(self._share(body), name="share")

    async def modal_share(self, ack: Ack, body: dict[str, Any]) -> None:
        """Share in channel from a message shortcut's modal: a modal has no response_url of its own,
        so the shortcut's (kept in the modal's private_metadata, which Slack returns as set) posts
        to the message's channel."""
        await ack()
        meta = views.read_metadata(obj(body, "view").get("private_metadata"))
        asker = dataclasses.replace(
            asker_from_action(body), channel_id=meta.get("c", ""), channel_name=meta.get("n") or None
        )
        self._tasks.spawn(self._share(body, asker, meta.get("r", "")), name="share")

    async def _share(
        self, body: dict[str, Any], asker: Asker | None = None, response_url: str | None = None
    ) -> None:
        asker = asker or asker_from_action(body)
        response_url = str(body.get("response_url") or "") if response_url is None else response_url
        permit = await self._service.authorize_interaction(
            asker, _value(body), surface="share", private=False
        )
        if permit.query is None:
            await self._tell(response_url, ":no_entry_sign: " + permit.decision.message)
            return
        query, masked = permit.query, permit.masked
        if not permit.decision.rule.share:
            self._service.audit_interaction(asker, query, outcome="denied", reason="share_not_allowed")
            await self._tell(
                response_url, ":no_entry_sign: Sharing customer cards is turned off in this channel."
            )
            return
        try:
            answer = await self._service.answer(query, masked)
            if answer.fetched is None:
                assert answer.error is not None
                self._service.audit_interaction(asker, query, outcome=answer.error.kind, masked=masked)
                error = Failed(query, answer.error, answer.fallback, current_ref())
                # Told to the clicker alone: the rule's own masking, not the channel's.
                told = View(asker.user_id, masked=permit.decision.rule.mask)
                await self._tell(response_url, cards.error_text(error, told))
                return
            view = View(
                requester_id=asker.user_id,
                response_type="in_channel",
                dashboard_url=self._dashboard_url,
                masked=masked,
                shared_by=asker.user_id,
                fetched_at=datetime.now(UTC),
            )
            found = Found(answer.found_by or query, mask_customer(answer.fetched.customer, masked))
            message = cards.lookup_message([found], view)
        except Exception:
            log.exception("share_failed")
            self._service.audit_interaction(asker, query, outcome="error", masked=masked)
            await self._tell(
                response_url, ":warning: The bot could not share this customer. The error is logged."
            )
            return
        delivered = await self._poster.post(
            response_url, {**message, "replace_original": False}, purpose="share"
        )
        self._service.audit_interaction(
            asker, query, outcome="shared" if delivered else "share_undelivered", masked=masked
        )

    async def rerun(self, ack: Ack, body: dict[str, Any]) -> None:
        """Refresh and Try again: every query of the message, admitted again for whoever clicks
        where they click, fetched again, and the message replaced in place through the click's own
        response_url, masked as the message it replaces (SPEC 4)."""
        await ack()
        self._tasks.spawn(self._rerun(body), name="rerun")

    async def _rerun(self, body: dict[str, Any]) -> None:
        actions = body.get("actions") or [{}]
        surface = "retry" if actions[0].get("action_id") == cards.ACTION_RETRY else "refresh"
        asker = asker_from_action(body)
        response_url = str(body.get("response_url") or "")
        if obj(body, "container").get("type") != "message" or not response_url:
            log.warning("rerun_without_message", surface=surface)  # modal cards carry no such button
            return
        started = await self._service.rerun(
            asker, _value(body), surface=surface, private=_on_private_message(body)
        )
        if isinstance(started, Immediate):
            await self._tell(response_url, started.message["text"])
            return
        message = await self._service.complete(started)
        await self._poster.post(response_url, {**message, "replace_original": True}, purpose=surface)

    async def show_addresses(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        self._tasks.spawn(self._addresses(body, client), name="addresses")

    async def _addresses(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        # Open at once (trigger_id lives 3 s), fill in when BIK has answered. From a modal, the
        # new view is pushed on top of it: views.open works only outside a modal.
        loading = cards.notice_modal("Addresses", ":hourglass_flowing_sand: Loading…")
        in_modal = obj(body, "container").get("type") == "view"
        view_id = await (self._modals.push if in_modal else self._modals.open)(
            client, body.get("trigger_id"), loading
        )
        if view_id is not None:
            await self._fill_addresses(body, client, view_id)

    async def _fill_addresses(
        self, body: dict[str, Any], client: AsyncWebClient, view_id: str | None
    ) -> None:
        asker, private, dm_rule = asker_from_action(body), _on_private_message(body), False
        if obj(body, "container").get("type") == "view":
            # A card in one of our modals: seen by the clicker alone, under the rule it was looked up
            # under — the message's channel (kept in private_metadata), else [direct_messages].
            meta = views.read_metadata(obj(body, "view").get("private_metadata"))
            asker = dataclasses.replace(
                asker, channel_id=meta.get("c", ""), channel_name=meta.get("n") or None
            )
            private, dm_rule = True, not meta.get("c")
        permit = await self._service.authorize_interaction(
            asker, _value(body), surface="addresses", private=private, direct_messages_rule=dm_rule
        )
        if permit.query is None:
            view = cards.notice_modal("Not allowed", permit.decision.message)
        else:
            query, masked = permit.query, permit.masked
            try:
                answer = await self._service.answer(query, masked)
                if answer.fetched is None:
                    assert answer.error is not None
                    error = Failed(query, answer.error, answer.fallback, current_ref())
                    view = cards.notice_modal(
                        "Addresses", cards.error_text(error, View(asker.user_id, masked=masked))
                    )
                    outcome = answer.error.kind
                else:
                    view = cards.addresses_modal(
                        mask_customer(answer.fetched.customer, masked), masked=masked
                    )
                    outcome = "found"
            except Exception:
                log.exception("addresses_failed")
                view = cards.notice_modal("Addresses", ":warning: The bot could not show these addresses.")
                outcome = "error"
            self._service.audit_interaction(asker, query, outcome=outcome, masked=masked, surface="addresses")
        await self._modals.update(client, view_id, view)

    async def _tell(self, response_url: str, text: str) -> None:
        """An ephemeral note to the person who clicked; the card they clicked stays as it is."""
        message = {**cards.text_message(text), "replace_original": False}
        await self._poster.post(response_url, message, purpose="notice")

    async def unknown(self, ack: Ack, body: dict[str, Any]) -> None:
        """A click or submission no listener knows (an old message, a forged payload): acknowledge it
        so Slack shows no error, do nothing, and say so in the log."""
        await ack()
        actions = body.get("actions") or [{}]
        log.warning(
            "unknown_interaction",
            type=body.get("type"),
            action_id=str(actions[0].get("action_id", ""))[:64] if isinstance(actions[0], dict) else "",
        )


def register(app: AsyncApp, handlers: ActionHandlers) -> None:
    app.action(cards.ACTION_OPEN)(handlers.open_in_bik)
    app.action(cards.ACTION_SHARE)(handlers.share)
    app.action(cards.ACTION_ADDRESSES)(handlers.show_addresses)
    app.action(cards.ACTION_REFRESH)(handlers.rerun)
    app.action(cards.ACTION_RETRY)(handlers.rerun)
    app.action(views.ACTION_MODAL_SHARE)(handlers.modal_share)


def register_fallbacks(app: AsyncApp, handlers: ActionHandlers) -> None:
    """Registered after every other listener: Bolt tries them in order, so these catch only what
    nothing else did (and nothing ends in Bolt's 404)."""
    app.action(ANY)(handlers.unknown)
    app.view(ANY)(handlers.unknown)
    app.view_closed(ANY)(handlers.unknown)
    app.shortcut(ANY)(handlers.unknown)
    app.event(ANY)(handlers.unknown)
