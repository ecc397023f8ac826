"""Button listeners. Each one re-checks the access policy for the channel it is used in and the user
who clicked, spends the clicker's rate limit, and re-fetches the customer from BIK: a button's value
is only a query, never data. What a click shows is masked for who can see it: a modal opened from a
card the whole channel reads is masked as that card is.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import cards
from bot.cards import Failed, Found, View
from bot.delivery import ResponseUrlPoster
from bot.logs import current_ref, get_logger
from bot.lookup import Asker, LookupService
from bot.masking import mask_customer
from bot.tasks import TaskTracker

log = get_logger("bik.actions")
ANY = re.compile(".*")
Ack = Callable[..., Awaitable[Any]]


def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    """``body[key]`` when it is an object; Slack sends ``null`` or leaves many out."""
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def asker_from_action(body: dict[str, Any]) -> Asker:
    """Who clicked, where, as Slack really sends it: ``team`` is ``null`` in org-wide installs,
    ``channel`` is absent in modals and the Home tab, ``user.team_id`` is the clicker's own
    workspace (another organisation's, in Slack Connect)."""
    channel, user, view = _object(body, "channel"), _object(body, "user"), _object(body, "view")
    installing_team = (
        view.get("app_installed_team_id")
        or _object(body, "team").get("id")
        or user.get("team_id")
        or view.get("team_id")
    )
    return Asker(
        team_id=str(installing_team or ""),
        channel_id=str(channel.get("id") or _object(body, "container").get("channel_id") or ""),
        user_id=str(user.get("id") or ""),
        channel_name=channel.get("name"),
        user_team_id=user.get("team_id"),
        enterprise_id=_object(body, "enterprise").get("id") or _object(body, "team").get("enterprise_id"),
    )


def _value(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    return str(actions[0].get("value") or "")


def _on_private_message(body: dict[str, Any]) -> bool:
    """Was the button on a message only the clicker sees? Only Slack's own ``container`` can say so
    (not the button's value); anything else — an in-channel or shared card, an unknown container —
    counts as read by the whole channel."""
    container = _object(body, "container")
    return container.get("type") == "message" and container.get("is_ephemeral") is True


def _replay_key(body: dict[str, Any], asker: Asker) -> str:
    actions = body.get("actions") or [{}]
    container = _object(body, "container")
    return ":".join(
        (
            "share",
            asker.user_id,
            asker.channel_id,
            str(container.get("message_ts") or ""),
            str(actions[0].get("action_ts") or ""),
        )
    )


class ActionHandlers:
    def __init__(
        self,
        *,
        service: LookupService,
        poster: ResponseUrlPoster,
        tasks: TaskTracker,
        dashboard_url: str | None,
    ) -> None:
        self._service = service
        self._poster = poster
        self._tasks = tasks
        self._dashboard_url = dashboard_url

    async def open_in_bik(self, ack: Ack) -> None:
        """A link button: Slack opens the URL; the click still needs its ack."""
        await ack()

    async def share(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        self._tasks.spawn(self._share(body), name="share")

    async def _share(self, body: dict[str, Any]) -> None:
        asker = asker_from_action(body)
        response_url = str(body.get("response_url") or "")
        if not await self._service.first_time(_replay_key(body, asker)):
            # The same signed click again (a replay within Slack's 5 minutes): it was answered once.
            log.warning("interaction_replayed", action="share", user=asker.user_id)
            return
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

    async def show_addresses(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        trigger_id = body.get("trigger_id")
        # Open at once (trigger_id lives 3 s), fill in when BIK has answered.
        try:
            opened = await client.views_open(
                trigger_id=trigger_id,
                view=cards.notice_modal("Addresses", ":hourglass_flowing_sand: Loading…"),
            )
        except Exception:
            log.exception("views_open_failed")
            return
        view_id = (opened.get("view") or {}).get("id")
        self._tasks.spawn(self._fill_addresses(body, client, view_id), name="addresses")

    async def _fill_addresses(
        self, body: dict[str, Any], client: AsyncWebClient, view_id: str | None
    ) -> None:
        asker = asker_from_action(body)
        permit = await self._service.authorize_interaction(
            asker, _value(body), surface="addresses", private=_on_private_message(body)
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
        try:
            await client.views_update(view_id=view_id, view=view)
        except Exception:
            log.exception("views_update_failed")

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
    # Registered last: Bolt tries listeners in order, so these catch only what nothing else did.
    app.action(ANY)(handlers.unknown)
    app.view(ANY)(handlers.unknown)
    app.view_closed(ANY)(handlers.unknown)
    app.shortcut(ANY)(handlers.unknown)
    app.event(ANY)(handlers.unknown)
