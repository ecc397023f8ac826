"""The real ASGI app under uvicorn on 127.0.0.1:<free port>, in a thread, and a client that sends
requests exactly as Slack does (shaped like the captures in ``tests/payloads``, form-encoded or JSON,
signed with the signing secret)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import uvicorn
from slack_sdk.signature import SignatureVerifier

from bot.access import Policy
from bot.app import Bot, build_asgi, build_bot
from bot.config import Settings
from tests import payloads

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-token-000000"
BIK_TOKEN = "dGVzdC1rZXk6dGVzdC1zZWNyZXQ="

# The ids every test request carries unless a test says otherwise.
TEAM = "T1"
APP = "A1"
TRIGGER = "1.2.3"


class BotServer:
    def __init__(self, settings: Settings, *, policy: Policy | None = None, **knobs: Any) -> None:
        self.bot: Bot = build_bot(settings, policy=policy, **knobs)
        config = uvicorn.Config(
            build_asgi(self.bot),
            host="127.0.0.1",
            port=0,
            loop="asyncio",
            http="h11",
            lifespan="on",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True, name="bot-server")
        self.port = 0

    def start(self) -> BotServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("bot server did not start")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(15)


class SlackClient:
    """Sends what Slack sends: signed posts to /slack/events, built from the payload corpus
    (``tests/payloads``), so every test exercises the shapes Slack really sends (``"enterprise": null``
    and the rest), with only the ids a test cares about replaced."""

    def __init__(self, base_url: str, *, secret: str = SIGNING_SECRET, team: str = TEAM) -> None:
        self.base_url = base_url
        self.secret = secret
        self.team = team
        """The workspace whose requests this client sends (distribution mode has several)."""
        self.http = httpx.Client(timeout=10)

    def post(
        self,
        body: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        signature: str | None = None,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> httpx.Response:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        verifier = SignatureVerifier(secret or self.secret)
        signed = signature or verifier.generate_signature(timestamp=ts, body=body) or ""
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signed,
        }
        return self.http.post(self.base_url + "/slack/events", content=body.encode(), headers=headers)

    def command(
        self,
        text: str,
        *,
        response_url: str,
        channel: str = "CALLOWED",
        user: str = "U1",
        channel_name: str = "support",
        command: str = "/bik-customer",
        **kw: Any,
    ) -> httpx.Response:
        """A slash command shaped like ``tests/payloads/command_plain.json``."""
        body = payloads.form_body(
            "command_plain",
            team_id=self.team,
            channel_id=channel,
            channel_name=channel_name,
            user_id=user,
            command=command,
            text=text,
            api_app_id=APP,
            response_url=response_url,
            trigger_id=TRIGGER,
        )
        return self.post(body, **kw)

    def action(
        self,
        action_id: str,
        value: str,
        *,
        response_url: str,
        channel: str = "CALLOWED",
        user: str = "U1",
        **kw: Any,
    ) -> httpx.Response:
        """A button click on our ephemeral reply, shaped like ``block_actions_ephemeral.json``."""
        payload = payloads.interaction(
            "block_actions_ephemeral",
            action_id=action_id,
            value=value,
            channel=channel,
            user=user,
            team=self.team,
            response_url=response_url,
            api_app_id=APP,
            trigger_id=TRIGGER,
        )
        return self.interaction(payload, **kw)

    def interaction(self, payload: dict[str, Any], **kw: Any) -> httpx.Response:
        """Any interaction payload (block_actions, view_submission, shortcut...), signed, as
        ``payload=<json>`` in a form body."""
        return self.post(payloads.interaction_body(payload), **kw)

    def event(self, body: dict[str, Any], **kw: Any) -> httpx.Response:
        """An Events API body (event_callback, url_verification), signed, as JSON."""
        return self.post(json.dumps(body), content_type="application/json", **kw)


def wait_for(probe: Callable[[], Any], timeout: float = 10.0, interval: float = 0.01) -> Any:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing arrived within {timeout} s")
        time.sleep(interval)
