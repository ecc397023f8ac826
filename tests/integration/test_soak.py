"""Soak: thousands of commands through the real process with upstream faults mixed in. Every command
gets exactly one final reply; file descriptors, connections and memory stay bounded.

`make soak` runs the full 2,000 commands; `make test` runs a 300-command version."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.fakes.botserver import SlackClient, wait_for
from tests.fakes.process import BotProcess, stand_in_env

OUTCOMES = {
    "slow to answer": "timeout",  # a hang: the ack says so, the timeout reply follows on response_url
    "BIK customer:": "card",
    "No customer": "not found",
    "unavailable": "unavailable",
    "did not answer in time": "timeout",
    "Unexpected answer": "unexpected",
}


def outcome(ack_text: str) -> str:
    return next((name for marker, name in OUTCOMES.items() if marker in ack_text), ack_text[:40])


def resources(pid: int) -> tuple[int, int, float]:
    """(open fds, open sockets, RSS in MB) of a process and its children."""
    fds = sockets = 0
    rss_kb = 0
    for p in [pid, *children(pid)]:
        try:
            entries = os.listdir(f"/proc/{p}/fd")
        except OSError:
            continue
        fds += len(entries)
        for entry in entries:
            with contextlib.suppress(OSError):  # an fd closed while we looked
                sockets += os.readlink(f"/proc/{p}/fd/{entry}").startswith("socket:")
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss_kb += int(line.split()[1])
    return fds, sockets, rss_kb / 1024


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return out


@pytest.mark.parametrize(
    "commands", [pytest.param(300, id="short"), pytest.param(2000, id="full", marks=pytest.mark.slow)]
)
def test_soak_exactly_one_reply_per_command_and_bounded_resources(bik, slack, tmp_path, commands):
    # BIK_TIMEOUT_SECONDS past the 2 s ack budget: a hang ends as a "slow" ack plus a response_url reply.
    env = stand_in_env(bik, slack, tmp_path, BIK_TIMEOUT_SECONDS="3", BIK_RATE_LIMIT="1000000/minute")
    process = BotProcess(env, cwd=tmp_path).start()
    try:
        bik.chaos(seed=20261129, error_5xx=5, hang_rate=2, malformed=1)  # percent
        local = threading.local()

        def send(i: int) -> tuple[str, str]:
            if not hasattr(local, "client"):
                local.client = SlackClient(process.url)
            hook = slack.new_hook()
            # A different id each time: no two commands share a BIK call, so each meets its own faults.
            response = local.client.command(f"soak-{i}", user=f"U{i % 40}", response_url=hook)
            assert response.status_code == 200, response.status_code
            return hook, response.json()["text"]

        warm = 100
        with ThreadPoolExecutor(16) as pool:
            first = list(pool.map(send, range(warm)))
            baseline = resources(process.proc.pid)
            started = time.monotonic()
            rest = list(pool.map(send, range(warm, commands)))
            elapsed = time.monotonic() - started
        results = first + rest

        # Exactly one final reply each: in the ack, or (after a "slow" note) one response_url post.
        later = [hook for hook, text in results if "slow to answer" in text]
        if later:
            wait_for(lambda: all(slack.posts(h) for h in later), timeout=30)
        time.sleep(0.5)
        for hook, text in results:
            assert len(slack.posts(hook)) == (1 if "slow to answer" in text else 0), (hook, text)

        outcomes = Counter(outcome(text) for _, text in results)
        time.sleep(1.0)  # let keep-alive connections settle
        end = resources(process.proc.pid)
        print(  # noqa: T201 - the soak's figures, shown by `make soak`
            f"\nsoak: {commands} commands, {len(results)} answered, {len(later)} via response_url, "
            f"{(commands - warm) / elapsed:.0f} commands/s; outcomes {dict(outcomes)}; "
            f"BIK requests {bik.count()}; fds {baseline[0]} -> {end[0]}, sockets {baseline[1]} -> {end[1]}, "
            f"RSS {baseline[2]:.1f} -> {end[2]:.1f} MB"
        )
        served = bik.served
        print(f"soak: BIK stand-in served {dict(served)}")  # noqa: T201
        assert len(results) == commands
        assert served["5xx"] > 0 and served["hang"] > 0 and served["malformed"] > 0  # the faults happened
        # Each fault ends as its own error row (a 5xx is retried, so it rarely reaches the user).
        assert outcomes["unexpected"] == served["malformed"]
        assert len(later) == served["hang"]  # each hang: a "slow" ack, then the timeout reply
        assert all("did not answer in time" in str(slack.posts(h)[0]) for h in later)
        assert (
            outcomes["card"] + outcomes["unexpected"] + outcomes["timeout"] + outcomes["unavailable"]
            == commands
        )
        assert end[0] - baseline[0] <= 30, "file descriptors grew"
        assert end[1] - baseline[1] <= 30, "open connections grew"
        assert end[2] - baseline[2] <= 40, "memory grew"
        assert SlackClient(process.url).http.get(process.url + "/healthz").status_code == 200
        assert process.terminate() == 0
    finally:
        process.kill()
    assert '"exception"' not in process.logs(), "the bot logged an unhandled exception"
