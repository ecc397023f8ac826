"""Fault injection (docs/reliability.md): each fault gets its answer within the bound, exactly one
final reply arrives, and the process stays healthy."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest

from tests.fakes import bik as b
from tests.fakes.botserver import wait_for

FAST_POLICY = '[channels.CALLOWED]\nallow = true\n[channels.CPUBLIC]\nallow = true\nreply = "in_channel"\n'


def text_of(message):
    return " ".join(blk.get("text", {}).get("text", "") for blk in message.get("blocks", []))


def bot_exceptions(logs):
    """Tracebacks logged by the bot (the stand-ins' own aiohttp servers are not the bot)."""
    return [e for e in logs.events() if e.get("exception") and not e.get("logger", "").startswith("aiohttp.")]


def assert_healthy(server, client):
    assert client.http.get(server.url + "/healthz").json()["status"] == "ok"
    assert (
        client.command("abcd-122345", response_url="http://127.0.0.1:9/x").json()["blocks"][0]["type"]
        == "header"
    )


# -- upstream ------------------------------------------------------------------------------------

UPSTREAM = {
    "5xx-burst": ([b.status(500), b.status(503), b.status(502)], "BIK is unavailable"),
    "reset-mid-body": ([b.reset(), b.reset(), b.reset()], "BIK is unavailable"),
    "hang": ([b.hang(30)], "did not answer in time"),
    "slow-drip": ([b.drip(0.2)], "did not answer in time"),
    "html-200": ([b.raw(200, "<html><body>Bad gateway</body></html>")], "Unexpected answer"),
    "wrong-shape-200": (
        [b.status(200, {"status": 200, "success": True, "data": {"customer": [1, 2]}})],
        "Unexpected answer",
    ),
    "20MB-body": ([b.huge(20)], "Unexpected answer"),
    "success-false-200": ([b.status(200, {"status": 200, "success": False})], "Unexpected answer"),
    "400-without-errors": ([b.status(400, {"status": 400})], "no reason given"),
    "500-without-errors": ([b.status(500, {}), b.status(500, {}), b.status(500, {})], "BIK is unavailable"),
}


@pytest.mark.parametrize("fault", list(UPSTREAM), ids=list(UPSTREAM))
def test_upstream_fault_gets_its_error_row_within_the_bound_and_the_process_stays_healthy(
    start_bot, bik, slack, logs, fault
):
    server, client = start_bot(FAST_POLICY, bik_timeout_seconds=1)
    behaviours, expected = UPSTREAM[fault]
    bik.script("abcd-122345", *behaviours)
    hook = slack.new_hook()
    started = time.monotonic()
    message = client.command("abcd-122345", response_url=hook).json()
    assert time.monotonic() - started < 1.8  # the 1 s bound, plus the ack path
    assert expected in text_of(message)
    time.sleep(0.1)
    assert slack.posts(hook) == []  # the answer was in the ack: nothing more
    assert not bot_exceptions(logs), "the bot logged an unhandled exception"
    assert_healthy(server, client)


# -- response_url ----------------------------------------------------------------------------------


def slow_reply(start_bot, bik, **knobs):
    """A bot whose replies go through response_url (BIK slower than the ack budget)."""
    _, client = start_bot(FAST_POLICY, ack_budget=0.2, **knobs)
    bik.script("abcd-122345", b.delay(0.4))
    return client


def test_response_url_5xx_is_retried_and_delivered_once(start_bot, bik, slack):
    client = slow_reply(start_bot, bik)
    hook = slack.new_hook()
    slack.hook_fail(hook, 500, 503)
    assert "slow" in client.command("abcd-122345", response_url=hook).json()["text"]
    [posted] = wait_for(lambda: slack.posts(hook), timeout=10)
    assert posted["blocks"][0]["text"]["text"] == "Test Last"
    assert slack.attempts(hook) == 3
    time.sleep(0.5)
    assert len(slack.posts(hook)) == 1


def test_response_url_always_failing_is_logged_as_undelivered_not_dropped_silently(
    start_bot, bik, slack, logs
):
    client = slow_reply(start_bot, bik)
    hook = slack.new_hook()
    slack.hook_fail(hook, 500, 500, 500, 500)
    client.command("abcd-122345", response_url=hook)
    [event] = wait_for(lambda: logs.events("reply_undelivered"), timeout=15)
    assert event["level"] == "error" and event["attempts"] == 3
    assert slack.attempts(hook) == 3  # within Slack's 5 uses per response_url
    assert slack.posts(hook) == []


def test_response_url_timing_out_is_retried(start_bot, bik, slack):
    client = slow_reply(start_bot, bik, reply_timeout=0.5)
    hook = slack.new_hook()
    slack.hook_fail(hook, "hang")
    client.command("abcd-122345", response_url=hook)
    [posted] = wait_for(lambda: slack.posts(hook), timeout=10)
    assert posted["blocks"][0]["type"] == "header" and slack.attempts(hook) == 2


def test_response_url_429_honours_retry_after(start_bot, bik, slack):
    client = slow_reply(start_bot, bik)
    hook = slack.new_hook()
    slack.hook_fail(hook, 429)  # the stand-in sends Retry-After: 1
    sent = time.monotonic()
    client.command("abcd-122345", response_url=hook)
    [posted] = wait_for(lambda: slack.posts(hook), timeout=10)
    assert posted["_received"] - sent >= 1.0 + 0.4 - 0.05  # BIK's 0.4 s, then at least Retry-After


# -- Slack Web API -----------------------------------------------------------------------------------


def test_auth_test_rejected_at_startup_is_an_error_but_the_bot_serves(start_bot, slack, logs):
    slack.auth_error = "invalid_auth"
    server, client = start_bot(FAST_POLICY)
    [event] = wait_for(lambda: logs.events("slack_auth_failed"), timeout=5)
    assert event["level"] == "error" and event["error"] == "invalid_auth"
    assert_healthy(server, client)


def test_web_api_429_is_honoured_before_asking_again(start_bot, slack):
    _, client = start_bot(FAST_POLICY)
    slack.fail("conversations.info", "ratelimited", times=1)
    for _ in range(3):
        message = client.command("abcd-122345", channel="CPUBLIC", response_url=slack.new_hook()).json()
        assert "+919090909090" not in json.dumps(message)  # treated as shared meanwhile
    assert len(slack.method_calls("conversations.info")) == 1


def test_web_api_slow_answers_are_bounded_before_the_ack(start_bot, slack):
    _, client = start_bot(FAST_POLICY)
    slack.fail("users.info", "hang")
    started = time.monotonic()
    message = client.command("abcd-122345", response_url=slack.new_hook()).json()
    assert time.monotonic() - started < 2.0
    assert "Slack didn't answer" in message["text"]


# -- malformed requests ----------------------------------------------------------------------------


def test_unknown_action_ids_and_view_submissions_are_acknowledged(start_bot, bik, slack, logs):
    _, client = start_bot(FAST_POLICY)
    assert client.action("no_such_action", "x", response_url=slack.new_hook()).status_code == 200
    view = {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "view": {"id": "V1", "type": "modal", "callback_id": "who_knows", "state": {"values": {}}},
    }
    assert client.post(urlencode({"payload": json.dumps(view)})).status_code == 200
    assert len(logs.events("unknown_interaction")) == 2
    assert bik.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        "",
        "payload=not-json",
        "payload=%7B%7D",
        "payload=%5B1%2C2%5D",
        "command=%2Fbik-customer",
        "command=%2Fbik-customer&text=abcd-122345",
        "command=%2Fbik-customer&text=abcd-122345&channel_id=CALLOWED",
        "a=%ZZ&&&==",
        "payload=" + '{"type": "view_submission", "view": {"id": "V1"}}',  # a view without its type
        "\x00\x01\x02",
    ],
)
def test_malformed_bodies_never_get_a_500(start_bot, bik, body):
    server, client = start_bot(FAST_POLICY)
    response = client.post(body)
    assert response.status_code in (200, 400, 404), response.status_code
    assert bik.count() == 0
    assert_healthy(server, client)


def test_unknown_commands_are_answered(start_bot, slack):
    _, client = start_bot(FAST_POLICY)
    message = client.command("help", command="/customer", response_url=slack.new_hook()).json()
    assert "partner:&lt;id&gt;" in text_of(message)
