"""Operating it (SPEC section 10), against the real process with real worker processes
(``WEB_CONCURRENCY=2``): metrics summed over workers, readiness, policy reloads, the request ref."""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.fakes import bik as b
from tests.fakes.botserver import SlackClient, wait_for
from tests.fakes.process import BotProcess, free_port, stand_in_env

POLICY = "[channels.CALLOWED]\nallow = true\n"
BOTH = POLICY + "[channels.CLATER]\nallow = true\n"
SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>[0-9.e+-]+)$")


def metrics(url: str, token: str | None = None) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(url + "/metrics", headers=headers, timeout=5)
    assert response.status_code == 200, response.text
    samples = {}
    for line in response.text.splitlines():
        match = SAMPLE.match(line)
        if match:
            labels = frozenset(
                tuple(pair.split("=", 1)[0:2]) for pair in (match["labels"] or "").split(",") if pair
            )
            labels = frozenset((k, v.strip('"')) for k, v in labels)
            samples[(match["name"], labels)] = float(match["value"])
    return samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def start(bik, slack, tmp_path, *, policy=POLICY, workers=2, **env):
    """The real process; returns once every worker has started (the first healthy answer may come
    from one worker while the other is still loading)."""
    extra = {"WEB_CONCURRENCY": str(workers), "BIK_POLICY_RELOAD_SECONDS": "0", **env}
    process = BotProcess(stand_in_env(bik, slack, tmp_path, policy=policy, **extra), cwd=tmp_path).start()
    wait_for(lambda: process.logs().count('"event": "started"') >= workers, timeout=30)
    return process


@pytest.fixture
def two_workers(bik, slack, tmp_path):
    process = start(bik, slack, tmp_path)  # file watching off: only SIGHUP reloads
    yield process
    process.kill()


def test_metrics_sum_every_worker_exactly_and_repeated_scrapes_agree(two_workers, bik, slack):
    client = SlackClient(two_workers.url)
    texts = ["abcd-122345"] * 6 + ["nobody-here"] * 3 + ["bik:abc"] * 2
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda t: client.command(t, response_url=slack.new_hook()), texts))
        denied = list(
            pool.map(
                lambda _: client.command("abcd-122345", channel="CNOPE", response_url=slack.new_hook()),
                range(4),
            )
        )
    assert all(r.status_code == 200 for r in replies + denied)
    first = metrics(two_workers.url)
    assert value(first, "bik_lookups_total", surface="command", outcome="found") == 6
    assert value(first, "bik_lookups_total", surface="command", outcome="not_found") == 3
    assert value(first, "bik_lookups_total", surface="command", outcome="invalid") == 2
    assert value(first, "bik_lookups_total", surface="command", outcome="denied") == 4
    assert value(first, "bik_policy_decisions_total", decision="denied", reason="channel_not_allowed") == 4
    assert value(first, "bik_policy_decisions_total", decision="allowed", reason="allowed") == 9
    assert value(first, "slack_ack_duration_seconds_count", kind="command") == 15
    assert value(first, "slack_replies_total", path="ack", result="ok") == 15
    # Concurrent lookups of one id share a BIK call: one observation per call BIK really served.
    assert value(first, "bik_api_request_duration_seconds_count", outcome="found") == bik.count("abcd-122345")
    assert value(first, "bik_lookups_in_flight") == 0
    for _ in range(5):  # any worker may answer the scrape: every one says the same
        again = metrics(two_workers.url)
        assert {k: v for k, v in again.items() if k[0].startswith(("bik_lookups_total", "slack_ack"))} == {
            k: v for k, v in first.items() if k[0].startswith(("bik_lookups_total", "slack_ack"))
        }


def test_metric_labels_are_bounded_sets_never_ids(two_workers, bik, slack):
    client = SlackClient(two_workers.url)
    client.command("abcd-122345", user="UUNIQUE42", response_url=slack.new_hook())
    text = httpx.get(two_workers.url + "/metrics", timeout=5).text
    for forbidden in ("UUNIQUE42", "CALLOWED", "T1", "abcd-122345"):
        assert forbidden not in text
    labels = set(re.findall(r'(\w+)="', text))
    assert labels <= {"surface", "outcome", "kind", "path", "result", "decision", "reason", "le"}


def test_metrics_token_guards_the_endpoint(bik, slack, tmp_path):
    process = start(bik, slack, tmp_path, workers=1, METRICS_TOKEN="scrape-me-0123")
    try:
        assert httpx.get(process.url + "/metrics").status_code == 401
        wrong = httpx.get(process.url + "/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "scrape-me" not in wrong.text
        assert (
            "bik_lookups_total"
            in httpx.get(process.url + "/metrics", headers={"Authorization": "Bearer scrape-me-0123"}).text
        )
        assert httpx.get(process.url + "/healthz").status_code == 200  # liveness needs no token
    finally:
        process.kill()
    assert "scrape-me-0123" not in process.logs()


def test_readyz_flips_to_503_on_sigterm_while_the_reply_in_flight_still_arrives(bik, slack, tmp_path):
    process = start(bik, slack, tmp_path, workers=1)
    try:
        assert httpx.get(process.url + "/readyz").json()["ready"] is True
        bik.script("*", b.delay(3.0))
        hook = slack.new_hook()
        ack = SlackClient(process.url).command("abcd-122345", response_url=hook)
        assert "slow" in ack.json()["text"]
        process.proc.send_signal(signal.SIGTERM)
        ready = wait_for(lambda: _status(process.url + "/readyz") == 503, timeout=2)
        assert ready
        assert _status(process.url + "/healthz") == 200  # alive, not ready
        assert process.proc.wait(30) == 0
        [posted] = slack.posts(hook)
        assert posted["blocks"][0]["text"]["text"] == "Test Last"
    finally:
        process.kill()


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=1).status_code
    except httpx.TransportError:
        return 0


def _allowed_everywhere(url: str, slack, channel: str, n: int = 16) -> list[bool]:
    client = SlackClient(url)
    with ThreadPoolExecutor(8) as pool:
        replies = list(
            pool.map(
                lambda _: client.command("abcd-122345", channel=channel, response_url=slack.new_hook()),
                range(n),
            )
        )
    return ["isn't allowed" not in json.dumps(r.json()) for r in replies]


def test_sighup_reloads_the_policy_in_every_worker(two_workers, bik, slack, tmp_path):
    assert not any(_allowed_everywhere(two_workers.url, slack, "CLATER"))
    (tmp_path / "access.toml").write_text(BOTH)
    two_workers.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: two_workers.logs().count('"event": "policy_reloaded"') >= 2, timeout=5)
    assert all(_allowed_everywhere(two_workers.url, slack, "CLATER"))
    assert two_workers.proc.poll() is None  # a reload, not a restart
    assert "restarting processes" not in two_workers.logs()


def test_a_changed_file_is_reloaded_in_every_worker_and_counted(bik, slack, tmp_path):
    process = start(bik, slack, tmp_path, BIK_POLICY_RELOAD_SECONDS="0.2")
    try:
        time.sleep(0.3)
        (tmp_path / "access.toml").write_text(BOTH)
        wait_for(lambda: process.logs().count('"event": "policy_reloaded"') >= 2, timeout=5)
        assert all(_allowed_everywhere(process.url, slack, "CLATER"))
        assert value(metrics(process.url), "bik_policy_reloads_total", result="ok") == 2
        versions = {
            json.loads(line)["policy_version"]
            for line in process.logs().splitlines()
            if '"event": "lookup"' in line
        }
        assert len(versions) == 1  # every audit line after the reload names the new version
    finally:
        process.kill()


def test_an_invalid_file_keeps_the_old_policy_and_says_which_key(two_workers, bik, slack, tmp_path):
    (tmp_path / "access.toml").write_text(BOTH + "[channels.CBAD]\nallow = 'yes please'\n")
    two_workers.proc.send_signal(signal.SIGHUP)
    failures = wait_for(
        lambda: [
            json.loads(line) for line in two_workers.logs().splitlines() if "policy_reload_failed" in line
        ],
        timeout=5,
    )
    assert "channels.CBAD" in failures[0]["error"] and "access.toml" in failures[0]["error"]
    assert all(_allowed_everywhere(two_workers.url, slack, "CALLOWED", n=6))
    assert not any(_allowed_everywhere(two_workers.url, slack, "CLATER", n=6))
    assert value(metrics(two_workers.url), "bik_policy_reloads_total", result="error") >= 1


def test_a_lookup_in_flight_during_a_reload_gets_exactly_one_reply(bik, slack, tmp_path):
    process = start(bik, slack, tmp_path, workers=1)
    try:
        bik.script("*", b.delay(2.5))
        hook = slack.new_hook()
        result = {}
        thread = threading.Thread(
            target=lambda: result.update(
                ack=SlackClient(process.url).command("abcd-122345", response_url=hook)
            )
        )
        thread.start()
        time.sleep(0.5)
        (tmp_path / "access.toml").write_text("[defaults]\nallow = false\n")  # the channel is now denied
        process.proc.send_signal(signal.SIGHUP)
        thread.join(10)
        [posted] = wait_for(lambda: slack.posts(hook), timeout=10)
        assert posted["blocks"][0]["text"]["text"] == "Test Last"  # finished under the policy it began with
        time.sleep(0.5)
        assert len(slack.posts(hook)) == 1
        denied = SlackClient(process.url).command("abcd-122345", response_url=slack.new_hook())
        assert "isn't allowed" in denied.json()["text"]
    finally:
        process.kill()


def test_the_ref_on_an_error_card_leads_to_the_log_lines_of_that_request(bik, slack, tmp_path):
    process = start(bik, slack, tmp_path, workers=1)
    try:
        bik.script("abcd-122345", b.status(503), b.status(503), b.status(503))
        reply = SlackClient(process.url).command("abcd-122345", response_url=slack.new_hook()).json()
        text = json.dumps(reply)
        ref = re.search(r"ref ([0-9a-f]{8})", text)
        assert ref, text
        lines = [json.loads(line) for line in process.logs().splitlines() if line.startswith("{")]
        mine = [line for line in lines if line.get("ref") == ref.group(1)]
        events = {line["event"] for line in mine}
        assert {"lookup", "bik_failed"} <= events
        assert len({line.get("ref") for line in lines if line.get("event") == "lookup"}) == 1
    finally:
        process.kill()


def test_socket_mode_serves_health_readiness_and_metrics_on_port(bik, slack, tmp_path):
    port = free_port()
    env = stand_in_env(bik, slack, tmp_path, SLACK_APP_TOKEN="xapp-1-test-token-0000", PORT=str(port))
    process = BotProcess(env, cwd=tmp_path)
    process.port = port
    try:
        process.launch()
        wait_for(lambda: slack.sockets, timeout=20)
        assert wait_for(lambda: _status(process.url + "/readyz") == 200, timeout=10)
        assert httpx.get(process.url + "/healthz").json()["mode"] == "socket"
        assert "slack_ack_duration_seconds" in httpx.get(process.url + "/metrics").text
        assert _status(process.url + "/slack/events") in (404, 405)  # Socket Mode takes no events over HTTP
        assert process.terminate() == 0
    finally:
        process.kill()
