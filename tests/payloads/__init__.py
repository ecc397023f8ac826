"""Slack payloads shaped like what Slack really sends, one JSON file per kind.

Each file follows a live capture or Slack's own docs/test fixtures, named in its top-level ``"_source"``
(stripped on load). Real payloads are messier than the examples our code was written against:
``"enterprise": null``, ``"team": null`` on org-wide installs, no ``channel`` or ``response_url`` for
clicks in modals and the Home tab, no ``api_app_id`` in shortcuts, ``null`` modal fields (FACTS.md,
"Payloads as Slack sends them"). Tests start from these shapes and override only ids:

- :func:`load` -- the payload as stored (a deep copy).
- :func:`interaction` -- an interaction payload with the usual fields replaced *only where the shape
  has them*: asking for a channel on a modal click adds none.
- :func:`command_form` / :func:`form_body` -- a slash command's form fields (strings) / its url-encoded body.

Files without a ``"type"`` are form bodies (slash commands, ``ssl_check``); ``event_callback`` and
``url_verification`` are Events API JSON bodies; everything else is an interaction payload.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent

KINDS: list[str] = sorted(path.stem for path in HERE.glob("*.json"))
"""Every kind in the corpus (file stems): parametrize over this and a new file is covered."""

Envelope = Literal["slash_commands", "interactive", "events_api"]
EVENTS_API_TYPES = frozenset({"event_callback", "url_verification", "app_rate_limited"})


@cache
def _stored(kind: str) -> dict[str, Any]:
    path = HERE / f"{kind}.json"
    if kind not in KINDS or not path.is_file():
        raise KeyError(f"no Slack payload kind {kind!r}; the corpus has {', '.join(KINDS)}")
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("_source"), str) or not data["_source"]:
        raise ValueError(f'{path.name}: a JSON object with a non-empty "_source" string is required')
    return data


def source(kind: str) -> str:
    """What capture or document ``kind`` follows."""
    return str(_stored(kind)["_source"])


def load(kind: str) -> dict[str, Any]:
    """The payload of ``kind`` as Slack sends it: a fresh deep copy, ``_source`` removed."""
    data = copy.deepcopy(_stored(kind))
    del data["_source"]
    return data


def envelope_type(kind: str) -> Envelope:
    """How Slack delivers ``kind``: the Socket Mode envelope type (over HTTP: a form body for
    ``slash_commands``, ``payload=<json>`` for ``interactive``, a JSON body for ``events_api``)."""
    kind_type = _stored(kind).get("type")
    if kind_type is None:
        return "slash_commands"
    if kind_type in EVENTS_API_TYPES:
        return "events_api"
    return "interactive"


def http_only(kind: str) -> bool:
    """Requests Slack sends only to a Request URL, never over Socket Mode: the URL verification
    handshake and the slash command SSL check."""
    stored = _stored(kind)
    return stored.get("type") == "url_verification" or "ssl_check" in stored


SOCKET_MODE_KINDS: list[str] = [kind for kind in KINDS if not http_only(kind)]


def command_form(kind: str = "command_plain", **fields: str) -> dict[str, str]:
    """The form fields of a slash command kind, with ``fields`` set on top (as given)."""
    if envelope_type(kind) != "slash_commands":
        raise ValueError(f"{kind} is not a slash command form body")
    form = {key: str(value) for key, value in load(kind).items()}
    form.update({key: str(value) for key, value in fields.items()})
    return form


def form_body(kind: str = "command_plain", **fields: str) -> str:
    """:func:`command_form`, url-encoded as Slack POSTs it."""
    return urlencode(command_form(kind, **fields))


def interaction_body(payload: dict[str, Any]) -> str:
    """An interaction payload as Slack POSTs it: ``payload=<url-encoded JSON>``."""
    return urlencode({"payload": json.dumps(payload)})


def interaction(
    kind: str = "block_actions_ephemeral",
    *,
    action_id: str | None = None,
    value: str | None = None,
    channel: str | None = None,
    user: str | None = None,
    team: str | None = None,
    response_url: str | None = None,
    api_app_id: str | None = None,
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """The interaction payload of ``kind`` with the usual fields replaced where the shape has them.

    Ids are replaced everywhere the payload repeats them, so the shape stays consistent:

    - ``channel``: the channel's id (``channel.id``, ``container.channel_id``); none is added where
      the shape has no channel (modal and Home tab clicks, global shortcuts).
    - ``user``: ``user.id``.
    - ``team``: the workspace id: ``team.id`` (and wherever it recurs: ``user.team_id``,
      ``view.team_id``...), or ``user.team_id`` when ``team`` is null (org-wide installs; team stays
      null). In a Slack Connect shape ``user.team_id`` differs from ``team.id`` and stays as it is.
    - ``api_app_id`` (also ``view.app_id``), ``trigger_id``, ``response_url``: only if present.
    - ``action_id`` and ``value``: on the first of ``actions``, if the payload has actions.
    """
    if envelope_type(kind) != "interactive":
        raise ValueError(f"{kind} is not an interaction payload")
    payload = load(kind)
    if channel is not None:
        old = _get(payload, "channel", "id") or _get(payload, "container", "channel_id")
        payload = _replace_id(payload, old, channel)
    if user is not None:
        payload = _replace_id(payload, _get(payload, "user", "id"), user)
    if team is not None:
        old = _get(payload, "team", "id") if isinstance(payload.get("team"), dict) else None
        payload = _replace_id(payload, old or _get(payload, "user", "team_id"), team)
    if api_app_id is not None:
        payload = _replace_id(payload, payload.get("api_app_id"), api_app_id)
    if trigger_id is not None and "trigger_id" in payload:
        payload["trigger_id"] = trigger_id
    if response_url is not None and "response_url" in payload:
        payload["response_url"] = response_url
    actions = payload.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        if action_id is not None:
            actions[0]["action_id"] = action_id
        if value is not None:
            actions[0]["value"] = value
    return payload


def _get(payload: dict[str, Any], key: str, field: str) -> str | None:
    inner = payload.get(key)
    found = inner.get(field) if isinstance(inner, dict) else None
    return found if isinstance(found, str) and found else None


def _replace_id(payload: dict[str, Any], old: Any, new: str) -> dict[str, Any]:
    """Every string value equal to ``old`` becomes ``new`` (keys and other values untouched)."""
    if not isinstance(old, str) or not old:
        return payload

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return new if node == old else node

    replaced: dict[str, Any] = walk(payload)
    return replaced
