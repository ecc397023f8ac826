"""Modal submissions: the query input of the global shortcut and the Home tab (SPEC 9.2), and of a
message shortcut that found no id (9.1).

A bad query is shown on the input itself (``response_action: errors``, plain text), and nothing is
looked up. A good one replaces the modal with a "looking up" view in the acknowledgement (Slack
allows 3 s; BIK may take longer) and the cards follow with ``views.update``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import views
from bot.logs import get_logger
from bot.query import HelpRequest, QueryError, parse_command, unescape_slack
from handlers import payload
from handlers.modals import ModalLookups
from handlers.payload import asker_from_action, obj, private_asker, state_value

log = get_logger("bik.views")
Ack = Callable[..., Awaitable[Any]]

EMPTY = "Type a partner id or a BIK id, e.g. abcd-122345 or bik:5482636 (up to 5, separated by spaces)."


def _input_error(text: str) -> str:
    """A :class:`QueryError` message is Slack mrkdwn; an input's error is plain text."""
    return unescape_slack(text.replace("`", ""))[:150]


class ViewHandlers:
    def __init__(self, *, modals: ModalLookups) -> None:
        self._modals = modals

    async def lookup_submitted(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The global shortcut's (or the Home tab's) modal: private results under ``[direct_messages]``,
        and an optional post to the picked channel."""
        view = obj(body, "view")
        queries = await self._queries(ack, view)
        if queries is None:
            return
        meta = views.read_metadata(view.get("private_metadata"))
        surface = "home" if meta.get("s") == "home" else "global_shortcut"
        picked = state_value(view, views.BLOCK_POST_TO, views.ACTION_POST_TO).get("selected_conversation")
        post_to = _response_url_for(body, picked) if isinstance(picked, str) and picked else None
        await ack(response_action="update", view=views.loading_modal("BIK customer", ":mag: Looking up…"))
        self._modals.tasks.spawn(
            self._modals.fill(
                client,
                str(view.get("id") or ""),
                private_asker(body),
                queries,
                surface=surface,
                direct_messages_rule=True,
                post_to=post_to,
            ),
            name=surface,
        )

    async def message_input_submitted(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A message shortcut that found no id: the typed ids, under the message channel's rule."""
        view = obj(body, "view")
        queries = await self._queries(ack, view)
        if queries is None:
            return
        meta = views.read_metadata(view.get("private_metadata"))
        # The channel of the message, kept in the modal's private_metadata (Slack returns it as set).
        asker = dataclasses.replace(
            asker_from_action(body), channel_id=meta.get("c", ""), channel_name=meta.get("n") or None
        )
        await ack(response_action="update", view=views.loading_modal("BIK customer", ":mag: Looking up…"))
        self._modals.tasks.spawn(
            self._modals.fill(
                client,
                str(view.get("id") or ""),
                asker,
                queries,
                surface="message_shortcut",
                metadata=payload.metadata(
                    s="message_shortcut", c=meta.get("c", ""), n=meta.get("n", ""), r=meta.get("r", "")
                ),
                share_from_modal=bool(meta.get("r")),
            ),
            name="message_shortcut",
        )

    async def _queries(self, ack: Ack, view: dict[str, Any]) -> Any:
        text = state_value(view, views.BLOCK_QUERIES, views.ACTION_QUERIES).get("value")
        try:
            command = parse_command(text if isinstance(text, str) else "")
        except QueryError as exc:
            await ack(response_action="errors", errors={views.BLOCK_QUERIES: _input_error(exc.message)})
            return None
        if isinstance(command, HelpRequest):
            await ack(response_action="errors", errors={views.BLOCK_QUERIES: EMPTY})
            return None
        return command.queries


def _response_url_for(body: dict[str, Any], channel_id: str) -> tuple[str, str]:
    """The response_url Slack made for the picked conversation (``response_url_enabled``); an empty
    one when Slack sent none, which the post reports as not delivered."""
    # Slack sends them at the top level; its docs' example has them inside the view: read either.
    for item in body.get("response_urls") or obj(body, "view").get("response_urls") or []:
        if isinstance(item, dict) and item.get("channel_id") == channel_id and item.get("response_url"):
            return channel_id, str(item["response_url"])
    return channel_id, ""


def register(app: AsyncApp, handlers: ViewHandlers) -> None:
    app.view(views.CALLBACK_LOOKUP)(handlers.lookup_submitted)
    app.view(views.CALLBACK_MESSAGE_INPUT)(handlers.message_input_submitted)
