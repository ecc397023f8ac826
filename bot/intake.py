"""The one boundary every Slack request crosses before Bolt sees it, over HTTP and Socket Mode alike.

Bolt trusts what it is given: it parses a body before verifying it, logs the whole body (response
URLs, card contents) when a signature fails, answers a non-numeric timestamp with a 500, takes any
form body that merely *contains* the word "payload" for an interactivity payload (a slash command
for ``payload-7`` got a 404), and indexes payloads without checking their shape. So the checks live
here, in this order, and Bolt only ever receives a verified, parsed, well-shaped ``dict``:

1. the body is bounded while it streams (:data:`MAX_BODY_BYTES`, chunked uploads included);
2. the signature is verified (HTTP only; Socket Mode is authenticated by its app-level token);
3. the body is parsed: JSON, or a form whose ``payload`` *field* holds the interaction;
4. its shape is checked (:func:`payload_problem`) against what would crash Bolt, and nothing stricter
   than what Slack really sends (``"enterprise": null``, ``"team": null``, missing ``channel``).

Nothing here logs a request body.
"""

from __future__ import annotations

import hmac
import json
import time
from hashlib import sha256
from typing import Any
from urllib.parse import parse_qsl

from bot.logs import get_logger

log = get_logger("bik.intake")

MAX_BODY_BYTES = 1024 * 1024
"""Slack's payloads are far smaller (a message is at most ~40 kB of text)."""
MAX_CLOCK_SKEW = 300
"""Slack's own rule: refuse a request signed more than 5 minutes from now."""

# Keys Bolt reads as ``{"id": …}`` objects or plain ids; ``null`` is what Slack sends for many.
_ID_OBJECT_KEYS = ("team", "user", "channel", "enterprise")
_OBJECT_KEYS = ("view", "container", "message", "event", "state")
_VIEW_TYPES = ("view_submission", "view_closed")


class Refusal(Exception):
    """Why a request was refused before Bolt: the HTTP status and a short, data-free reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def verify_signature(secret: str, body: bytes, timestamp: str | None, signature: str | None) -> None:
    """Slack's v0 signature, compared in constant time; raises :class:`Refusal` (401)."""
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise Refusal(401, "bad timestamp")
    if abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW:
        raise Refusal(401, "stale timestamp")
    if not signature or not signature.isascii():
        raise Refusal(401, "no signature")
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Refusal(401, "bad signature")


def parse_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """A Slack request body as Slack means it: JSON (Events API), a form whose ``payload`` field is
    the JSON of an interaction, or a plain form (slash commands). Raises :class:`Refusal` (400)."""
    try:
        text = body.decode("utf-8")
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if media == "application/json" or (not media and text.startswith("{")):
            parsed: Any = json.loads(text)
        else:
            form = dict(parse_qsl(text, keep_blank_values=True))
            parsed = json.loads(form["payload"]) if "payload" in form else form
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Refusal(400, f"unreadable body ({type(exc).__name__})") from None
    return checked(parsed)


def checked(body: Any) -> dict[str, Any]:
    """``body`` if Bolt can take it (``null`` objects dropped, as if absent), else :class:`Refusal`."""
    problem = payload_problem(body)
    if problem is not None:
        raise Refusal(400, problem)
    # Bolt tests ``"view" in body`` and then indexes it: an explicit null is an absent object.
    return {k: v for k, v in body.items() if not (v is None and k in _OBJECT_KEYS)}


def payload_problem(body: Any) -> str | None:
    """What would make a parsed payload crash Bolt (or its unhandled-request warning), or ``None``.

    Slack sends ``null`` for ``enterprise`` outside Grid, for ``team`` in org-wide installs, and
    leaves ``channel``/``response_url`` out of modal and Home clicks: all of that is fine. What is
    refused is a shape Bolt would index into and crash on: a list where it expects an object, a
    view submission without a view type."""
    if not isinstance(body, dict):
        return "body is not an object"
    if "type" in body and not isinstance(body["type"], str):
        return "type is not a string"
    for key in _ID_OBJECT_KEYS:
        if not isinstance(body.get(key), dict | str | None):
            return f"{key} is not an object"
    for key in _OBJECT_KEYS:
        if not isinstance(body.get(key), dict | None):
            return f"{key} is not an object"
    actions = body.get("actions")
    if actions is not None and not (isinstance(actions, list) and all(isinstance(a, dict) for a in actions)):
        return "actions is not a list of objects"
    if any(not isinstance(a.get("action_id", ""), str) for a in actions or []):
        return "action_id is not a string"
    if body.get("type") == "block_actions" and not (
        actions and all(isinstance(a.get("action_id"), str) for a in actions)
    ):
        # Slack always names the action clicked; Bolt's matchers and error handler index into it.
        return "block_actions without an action_id"
    for key in ("callback_id", "command"):
        if not isinstance(body.get(key, ""), str):
            return f"{key} is not a string"
    if not isinstance(obj_or_empty(body.get("event")).get("type", ""), str):
        return "event type is not a string"
    for holder in (body, obj_or_empty(body.get("view"))):
        urls = holder.get("response_urls")
        if urls is not None and not (isinstance(urls, list) and all(isinstance(u, dict) for u in urls)):
            return "response_urls is not a list of objects"
    authorizations = body.get("authorizations")
    if authorizations is not None and not (
        isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)
    ):
        return "authorizations is not a list of objects"
    if body.get("type") in _VIEW_TYPES:
        view = body.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("type"), str):
            return "view has no type"
        if not isinstance(view.get("callback_id", ""), str):
            return "view callback_id is not a string"
    return None


def obj_or_empty(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class QuietLog:
    """At most one line per ``every`` seconds for a repeated event (a flood of bad signatures must
    not become a flood of log lines); each line says how many were not logged since the last."""

    def __init__(self, event: str, *, every: float = 10.0) -> None:
        self._event = event
        self._every = every
        self._next = 0.0
        self._suppressed = 0

    def warning(self, **fields: Any) -> None:
        now = time.monotonic()
        if now < self._next:
            self._suppressed += 1
            return
        log.warning(self._event, suppressed=self._suppressed, **fields)
        self._next, self._suppressed = now + self._every, 0
