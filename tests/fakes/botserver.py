"""The real ASGI app under uvicorn on 127.0.0.1:<free port>, in a thread, and a client that sends
requests exactly as Slack does (form-encoded, signed with the signing secret)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from slack_sdk.signature import SignatureVerifier

from bot.access import Policy
from bot.app import Bot, build_asgi, build_bot
from bot.config import Settings

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-token-000000"
BIK_TOKEN = "dGVzdC1rZXk6dGVzdC1zZWNyZXQ="


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
    """Sends what Slack sends: signed form posts to /slack/events."""

    def __init__(self, base_url: str, *, secret: str = SIGNING_SECRET) -> None:
        self.base_url = base_url
        self.secret = secret
        self.http = httpx.Client(timeout=10)

    def post(
        self,
        body: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        verifier = SignatureVerifier(secret or self.secret)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or verifier.generate_signature(timestamp=ts, body=body),
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
        form = {
            "token": "deprecated",
            "team_id": "T1",
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": "agent",
            "command": command,
            "text": text,
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
        return self.post(urlencode(form), **kw)

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
        payload = {
            "type": "block_actions",
            "team": {"id": "T1", "domain": "test"},
            "user": {"id": user, "username": "agent", "team_id": "T1"},
            "api_app_id": "A1",
            "token": "deprecated",
            "container": {"type": "message", "is_ephemeral": True},
            "trigger_id": "1.2.3",
            "channel": {"id": channel, "name": "support"},
            "response_url": response_url,
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "b1",
                    "type": "button",
                    "value": value,
                    "action_ts": str(time.time()),
                }
            ],
        }
        return self.post(urlencode({"payload": json.dumps(payload)}), **kw)


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
