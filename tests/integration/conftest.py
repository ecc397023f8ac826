from __future__ import annotations

import io
import json
import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.access import Policy
from bot.config import Settings
from bot.logs import configure_logging
from tests.fakes.bik import FakeBik
from tests.fakes.botserver import BIK_TOKEN, BOT_TOKEN, SIGNING_SECRET, BotServer, SlackClient
from tests.fakes.process import free_port
from tests.fakes.slack import FakeSlack
from tests.fakes.workspace_db import CREDENTIALS_KEY

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


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis: the one CI started (REDIS_TEST_URL), else one started here from the
    redis-server binary on a free loopback port. Without the binary the test skips, except in CI."""
    given = os.environ.get("REDIS_TEST_URL")
    if given:
        yield given
        return
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail("REQUIRE_REDIS is set but there is no redis-server binary")
        pytest.skip("no redis-server binary on this machine (CI installs it: apt-get install redis-server)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(5)


@pytest.fixture(autouse=True)
def _fresh_fakes(bik: FakeBik, slack: FakeSlack) -> Iterator[None]:
    bik.reset()
    slack.reset()
    yield
    # A second opinion on everything the bot sent Slack during the test: our Block Kit checks and
    # slack_sdk's models (tests/blockkit.py). Acks are checked where tests read them.
    problems = list(slack.block_kit_problems)
    assert problems == [], "the bot sent Slack invalid Block Kit:\n" + "\n".join(problems)


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
            "slack_response_url_prefixes": slack.server.url + "/hooks/",
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
        policy: str = DEFAULT_POLICY, *, ack_budget: float = 2.0, reply_timeout: float = 5.0, **overrides: Any
    ) -> tuple[BotServer, SlackClient]:
        settings = settings_for(policy, **overrides)
        server = BotServer(
            settings,
            policy=Policy.load(settings.bik_access_policy),
            ack_budget=ack_budget,
            reply_timeout=reply_timeout,
        ).start()
        servers.append(server)
        return server, SlackClient(server.url)

    yield start
    for server in servers:
        server.stop()


CLIENT_ID = "1111.2222"
CLIENT_SECRET = "test-client-secret-0123456789"


@pytest.fixture
def start_distribution_bot(
    bik: FakeBik, slack: FakeSlack, tmp_path: Path
) -> Iterator[Callable[..., tuple[BotServer, SlackClient]]]:
    """A bot in distribution mode (SPEC 11): OAuth client credentials, no bot token, no BIK token; a
    SQLite file in ``tmp_path`` unless ``database_url`` is given. Install workspaces into it with
    :func:`tests.fakes.install.install_workspace`; ``SlackClient(server.url, team=…)`` sends a
    workspace's requests."""
    servers: list[BotServer] = []

    def start(**overrides: Any) -> tuple[BotServer, SlackClient]:
        slack.client_secret = CLIENT_SECRET
        values: dict[str, Any] = {
            "slack_client_id": CLIENT_ID,
            "slack_client_secret": CLIENT_SECRET,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": slack.api_url,
            "bik_api_base_url": bik.base_url,
            "bik_timeout_seconds": 3,
            "bik_rate_limit": "1000/minute",
            "bik_credentials_keys": CREDENTIALS_KEY,
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'bik-slack.db'}",
            "slack_response_url_prefixes": slack.server.url + "/hooks/",
        }
        values.update(overrides)
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        assert settings.distribution
        server = BotServer(settings).start()
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
