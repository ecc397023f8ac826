"""SIGTERM while lookups are in flight, against the real process (the Procfile's command): every
lookup finishes and replies before the process exits, and none replies twice."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.fakes import bik as b
from tests.fakes.botserver import SlackClient
from tests.fakes.process import BotProcess, stand_in_env


def start(bik, slack, tmp_path, workers=1):
    env = stand_in_env(bik, slack, tmp_path, WEB_CONCURRENCY=str(workers))
    return BotProcess(env, cwd=tmp_path).start()


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_after_the_ack_still_delivers_every_reply_once_before_exit(bik, slack, tmp_path, workers):
    process = start(bik, slack, tmp_path, workers)
    try:
        # Slower than the 2 s ack budget (replies go to response_url) and than the 2 s readiness grace
        # after SIGTERM (so lookups are still in flight when the drain begins).
        bik.script("*", *[b.delay(5.0)] * 6)
        client = SlackClient(process.url)
        hooks = [slack.new_hook() for _ in range(6)]
        with ThreadPoolExecutor(6) as pool:
            acks = list(pool.map(lambda h: client.command("abcd-122345", response_url=h), hooks))
        assert all("slow" in a.json()["text"] for a in acks)
        assert all(slack.posts(h) == [] for h in hooks)  # nothing delivered yet
        terminated = time.monotonic()
        assert process.terminate(timeout=40) == 0
        assert time.monotonic() - terminated < 10
        for hook in hooks:  # checked after exit: delivered before it
            [posted] = slack.posts(hook)
            assert posted["blocks"][0]["text"]["text"] == "Test Last"
    finally:
        process.kill()
    assert '"event": "draining"' in process.logs()


def test_sigterm_with_requests_still_open_answers_them_in_the_ack(bik, slack, tmp_path):
    process = start(bik, slack, tmp_path)
    try:
        bik.script("*", *[b.delay(1.0)] * 4)
        client = SlackClient(process.url)
        hooks = [slack.new_hook() for _ in range(4)]
        threading.Timer(0.4, process.terminate).start()
        with ThreadPoolExecutor(4) as pool:
            acks = list(pool.map(lambda h: client.command("abcd-122345", response_url=h), hooks))
        assert [a.status_code for a in acks] == [200] * 4
        assert all(a.json()["blocks"][0]["text"]["text"] == "Test Last" for a in acks)
        assert process.proc.wait(20) == 0
        assert all(slack.posts(h) == [] for h in hooks)  # exactly one reply each: the ack
    finally:
        process.kill()
