from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.access import Policy
from bot.config import Settings
from bot.logs import configure_logging
from tests.fakes.bik import FakeBik
from tests.fakes.botserver import BIK_TOKEN, BOT_TOKEN, SIGNING_SECRET, BotServer, SlackClient
from tests.fakes.slack import FakeSlack

DEFAULT_POLICY = """
[defaults]
allow = false

[channels.CALLOWED]
allow = true

[channels.CPUBLIC]
allow = true
reply = "in_channel"
"""


@pytest.fixture(scope="session")
def bik() -> Iterator[FakeBik]:
    server = FakeBik().start()
    yield server
    server.server.stop()


@pytest.fixture(scope="session")
def slack() -> Iterator[FakeSlack]:
    server = FakeSlack().start()
    yield server
    server.server.stop()


@pytest.fixture(autouse=True)
def _fresh_fakes(bik: FakeBik, slack: FakeSlack) -> None:
    bik.reset()
    slack.reset()


@pytest.fixture
def settings_for(bik: FakeBik, slack: FakeSlack, tmp_path: Path) -> Callable[..., Settings]:
    def make(policy: str = DEFAULT_POLICY, **overrides: Any) -> Settings:
        path = tmp_path / "access.toml"
        path.write_text(policy)
        values: dict[str, Any] = {
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": slack.api_url,
            "bik_api_base_url": bik.base_url,
            "bik_api_token": BIK_TOKEN,
            "bik_timeout_seconds": 3,
            "bik_access_policy": path,
            "bik_rate_limit": "1000/minute",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture
def start_bot(
    settings_for: Callable[..., Settings],
) -> Iterator[Callable[..., tuple[BotServer, SlackClient]]]:
    servers: list[BotServer] = []

    def start(
        policy: str = DEFAULT_POLICY, *, ack_budget: float = 2.0, **overrides: Any
    ) -> tuple[BotServer, SlackClient]:
        settings = settings_for(policy, **overrides)
        server = BotServer(
            settings, policy=Policy.load(settings.bik_access_policy), ack_budget=ack_budget
        ).start()
        servers.append(server)
        return server, SlackClient(server.url)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def bot(start_bot: Callable[..., tuple[BotServer, SlackClient]]) -> tuple[BotServer, SlackClient]:
    return start_bot()


class LogLines:
    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    @property
    def text(self) -> str:
        return self._stream.getvalue()

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        out = []
        for line in self.text.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if name is None or event.get("event") == name:
                out.append(event)
        return out


@pytest.fixture
def logs() -> Iterator[LogLines]:
    """Every log line the app writes, rendered exactly as in production (JSON), DEBUG and up."""
    configure_logging("DEBUG", json_lines=True)
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    yield LogLines(stream)
    root.removeHandler(handler)
