"""Shortcuts (SPEC 9.1, 9.2) and the Home tab's buttons: payload -> modal -> core -> modal.

* *Look up BIK customer* on a message (``lookup_message``): the ids in the message, looked up under
  the channel's rule for the person who clicked; Share in channel from the modal posts through the
  shortcut's ``response_url``. No id found: the modal offers an input.
* *Look up a BIK customer* anywhere (``lookup_customer``), and the Home tab's button: a modal with the
  query input and an optional "Also post to" channel (the submission is in ``handlers/views.py``).
* The Home tab's recent lookups: each opens its result in a modal under ``[direct_messages]``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import extract, views
from bot.logs import get_logger
from bot.query import QueryError, parse_query
from handlers import payload
from handlers.modals import ModalLookups
from handlers.payload import asker_from_action, obj, private_asker

log = get_logger("bik.shortcuts")
Ack = Callable[..., Awaitable[Any]]

CALLBACK_MESSAGE = "lookup_message"
CALLBACK_GLOBAL = "lookup_customer"


class ShortcutHandlers:
    def __init__(
        self, *, modals: ModalLookups, dashboard_url: str | None, id_pattern: re.Pattern[str] | None
    ) -> None:
        self._modals = modals
        self._dashboard_url = dashboard_url
        self._id_pattern = id_pattern

    async def message_shortcut(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        asker = asker_from_action(body)
        message = obj(body, "message")
        found = extract.find_ids(
            message.get("text"),
            [message.get("blocks"), message.get("attachments")],
            dashboard_url=self._dashboard_url,
            id_pattern=self._id_pattern,
        )
        metadata = payload.metadata(
            s="message_shortcut",
            c=asker.channel_id,
            n=asker.channel_name or "",  # a G… channel's name says whether it is a group DM
            r=str(body.get("response_url") or ""),
        )
        if not found.queries:
            view = views.query_modal(
                callback_id=views.CALLBACK_MESSAGE_INPUT,
                channel_picker=False,
                private_metadata=metadata,
                intro="No customer id was found in this message. Type one (or up to 5):",
            )
            self._modals.open_soon(client, body.get("trigger_id"), view)
            return
        # Open first (the trigger lives 3 s), then decide and look up, then fill the modal in.
        self._modals.open_and_fill(
            client,
            body.get("trigger_id"),
            asker,
            found.queries,
            surface="message_shortcut",
            metadata=metadata,
            share_from_modal=bool(body.get("response_url")),
            more=found.more,
        )

    async def global_shortcut(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await self._open_query_modal(body, client, surface="global_shortcut")

    async def home_lookup(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await self._open_query_modal(body, client, surface="home")

    async def _open_query_modal(self, body: dict[str, Any], client: AsyncWebClient, *, surface: str) -> None:
        view = views.query_modal(
            callback_id=views.CALLBACK_LOOKUP,
            channel_picker=True,
            private_metadata=payload.metadata(s=surface),
        )
        self._modals.open_soon(client, body.get("trigger_id"), view)

    async def recent(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A recent lookup's button on the Home tab: its result, now, under ``[direct_messages]``."""
        await ack()
        actions = body.get("actions") or [{}]
        try:
            query = parse_query(str(actions[0].get("value") or ""))
        except QueryError:
            log.warning("recent_button_invalid")
            return
        self._modals.open_and_fill(
            client,
            body.get("trigger_id"),
            private_asker(body),
            (query,),
            surface="home",
            direct_messages_rule=True,
        )


def register(app: AsyncApp, handlers: ShortcutHandlers) -> None:
    app.shortcut(CALLBACK_MESSAGE)(handlers.message_shortcut)
    app.shortcut(CALLBACK_GLOBAL)(handlers.global_shortcut)
    app.action(views.ACTION_HOME_LOOKUP)(handlers.home_lookup)
    app.action(views.ACTION_RECENT)(handlers.recent)
