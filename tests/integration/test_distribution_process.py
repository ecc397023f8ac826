"""Distribution mode as deployed: ``python -m bot serve`` with two worker processes on the default
embedded database (SQLite), both migrating at start; a policy saved anywhere applies in every worker
within 5 s (SPEC 11). PostgreSQL with real processes is what ``make bench``'s distribution scenario runs;
one process per test is slow to start, so the suite starts it once."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.fakes.botserver import SIGNING_SECRET, SlackClient, wait_for
from tests.fakes.install import install_workspace
from tests.fakes.process import BotProcess
from tests.fakes.workspace_db import CREDENTIALS_KEY, seed
from tests.integration.conftest import CLIENT_ID, CLIENT_SECRET

ONLY_CALLOWED = "[defaults]\nallow = false\n\n[channels.CALLOWED]\nallow = true\n"
EVERYWHERE = "[defaults]\nallow = true\n"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bik-slack.db'}"


@pytest.fixture
def served(bik, slack, database_url, tmp_path: Path):
    slack.client_secret = CLIENT_SECRET
    env = {
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "BIK_API_BASE_URL": bik.base_url,
        "BIK_CREDENTIALS_KEYS": CREDENTIALS_KEY,
        "DATABASE_URL": database_url,
        "SLACK_RESPONSE_URL_PREFIXES": slack.server.url + "/hooks/",
        "WEB_CONCURRENCY": "2",
    }
    process = BotProcess(env, cwd=tmp_path).start()
    yield process
    assert process.terminate() == 0


def test_two_workers_migrate_one_database_and_a_policy_change_reaches_both_within_5_seconds(
    served, slack, bik, database_url
):
    assert "Traceback" not in served.logs()  # both workers ran the migrations at start, one after the other
    install_workspace(slack, served.url, "T0A", "Alpha")
    seed(database_url, "T0A", token="bik-token-of-workspace-a-0001", policy=ONLY_CALLOWED)
    client = SlackClient(served.url, team="T0A")

    def answers(channel: str) -> list[str]:
        # Several requests: the kernel spreads them over both workers' shared socket.
        return [
            client.command("abcd-122345", channel=channel, response_url=slack.new_hook()).text
            for _ in range(6)
        ]

    assert all("isn't allowed" in text for text in answers("COTHER"))
    changed = time.monotonic()
    seed(database_url, "T0A", policy=EVERYWHERE)  # as an admin's Home tab in any process would save it
    wait_for(lambda: all("Test Last" in text for text in answers("COTHER")), timeout=5, interval=0.2)
    assert time.monotonic() - changed < 5
    started = [line for line in served.logs().splitlines() if '"event": "started"' in line]
    assert len(started) == 2 and all('"distribution": true' in line for line in started)  # both workers
    assert "slack_bots" not in served.logs()  # no SQL statement (nor its parameters) in the log


def test_sigterm_while_the_database_is_locked_still_exits_0(served, database_url):
    """The change feed's query is waiting on a lock when SIGTERM comes: it is cancelled, hands its
    connection back, and the process exits 0 (it once hung in the engine's dispose for ever)."""
    path = database_url.split("///", 1)[1]
    holder = sqlite3.connect(path, timeout=1)
    holder.execute("BEGIN EXCLUSIVE")  # every read of the feed now waits
    time.sleep(1.5)
    threading.Timer(3.0, holder.rollback).start()  # released while the workers shut down
    assert served.terminate(timeout=40) == 0
    holder.close()
