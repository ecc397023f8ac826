"""Reading Slack's payloads as Slack really sends them (``tests/payloads`` holds the captures):
``null`` where an object is expected, fields left out of modal and Home clicks, W… ids."""

from __future__ import annotations

import dataclasses
from typing import Any

from bot import views
from bot.lookup import Asker
from bot.tenants import Tenants


def obj(body: dict[str, Any], key: str) -> dict[str, Any]:
    """``body[key]`` when it is an object; Slack sends ``null`` or leaves many out."""
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def asker_from_action(body: dict[str, Any]) -> Asker:
    """Who clicked, where, as Slack really sends it: ``team`` is ``null`` in org-wide installs,
    ``channel`` is absent in modals and the Home tab, ``user.team_id`` is the clicker's own
    workspace (another organisation's, in Slack Connect)."""
    channel, user, view = obj(body, "channel"), obj(body, "user"), obj(body, "view")
    installing_team = (
        view.get("app_installed_team_id")
        or obj(body, "team").get("id")
        or user.get("team_id")
        or view.get("team_id")
    )
    return Asker(
        team_id=str(installing_team or ""),
        channel_id=str(channel.get("id") or obj(body, "container").get("channel_id") or ""),
        user_id=str(user.get("id") or ""),
        channel_name=channel.get("name"),
        user_team_id=user.get("team_id"),
        enterprise_id=obj(body, "enterprise").get("id") or obj(body, "team").get("enterprise_id"),
    )


def state_value(view: dict[str, Any], block_id: str, action_id: str) -> dict[str, Any]:
    """One input's state in a submitted view; ``{}`` for an untouched (``null``) or missing one."""
    values = obj(obj(view, "state"), "values")
    return obj(obj(values, block_id), action_id)


def private_asker(body: dict[str, Any]) -> Asker:
    """The person behind a modal or Home tab interaction, with no channel: their lookups follow
    ``[direct_messages]``."""
    return dataclasses.replace(asker_from_action(body), channel_id="", channel_name=None)


def metadata(**values: str) -> str:
    """A view's ``private_metadata`` (:func:`bot.views.metadata`), bound in distribution mode to the
    request's workspace (``w``): :func:`bot.app.dispatch` refuses a view of one workspace submitted
    or clicked for another."""
    tenant = Tenants.current_tenant()
    if tenant is not None:
        values["w"] = tenant.key
    return views.metadata(**values)
