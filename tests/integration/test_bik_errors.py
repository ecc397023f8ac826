"""Each row of SPEC section 4's error table, driven through the real app and a real BIK stand-in."""

from __future__ import annotations

import socket
import time

import pytest

from tests.fakes import bik as b
from tests.fakes.botserver import wait_for


def _reply_text(message):
    return " ".join(
        blk.get("text", {}).get("text", "") for blk in message["blocks"] if blk["type"] == "section"
    )


def _lookup(client, slack, text="abcd-122345"):
    response = client.command(text, response_url=slack.new_hook())
    assert response.status_code == 200
    return response.json()


def test_406_says_no_customer(bot, bik, slack):
    _, client = bot
    bik.script("abcd-122345", b.status(406, {"status": 406, "errors": [{"message": "Customer not found"}]}))
    assert "No customer with partner id `abcd-122345`" in _reply_text(_lookup(client, slack))
    assert bik.count() == 1  # not retried


def test_400_shows_biks_own_message(bot, bik, slack):
    _, client = bot
    bik.script("abcd-122345", b.status(400, {"status": 400, "errors": [{"message": "'x' is not allowed"}]}))
    text = _reply_text(_lookup(client, slack))
    assert "BIK rejected the lookup" in text and "'x' is not allowed" in text
    assert bik.count() == 1


def test_401_tells_an_admin_to_fix_the_token_and_logs_an_error(bot, bik, slack, logs):
    _, client = bot
    bik.script("abcd-122345", b.status(401, {"status": 401, "errors": [{"message": "Unauthorized"}]}))
    assert "An admin must fix the bot's BIK token" in _reply_text(_lookup(client, slack))
    [event] = logs.events("bik_needs_admin")
    assert event["level"] == "error" and event["kind"] == "unauthorized"


def test_404_tells_an_admin_to_fix_the_base_url_and_logs_an_error(start_bot, bik, slack, logs):
    _, client = start_bot(bik_api_base_url=bik.server.url + "/wrong-prefix")
    assert "BIK_API_BASE_URL" in _reply_text(_lookup(client, slack))
    [event] = logs.events("bik_needs_admin")
    assert event["level"] == "error" and event["status"] == 404


def test_5xx_is_retried_three_times_then_unavailable(bot, bik, slack, logs):
    _, client = bot
    bik.script("abcd-122345", b.status(500), b.status(502), b.status(503), b.status(200))
    text = _reply_text(_lookup(client, slack))
    assert "BIK is unavailable" in text
    assert bik.count("abcd-122345") == 3
    [audit] = logs.events("lookup")
    assert audit["outcome"] == "unavailable" and audit["retries"] == 2 and audit["bik_status"] == 503


def test_a_5xx_then_success_recovers(bot, bik, slack, logs):
    _, client = bot
    bik.script("abcd-122345", b.status(503))
    message = _lookup(client, slack)
    assert message["blocks"][0]["text"]["text"] == "Test Last"
    assert logs.events("lookup")[0]["retries"] == 1


def test_connection_refused_is_retried_then_unavailable(start_bot, slack):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    _, client = start_bot(bik_api_base_url=f"http://127.0.0.1:{closed_port}/integrations")
    assert "BIK is unavailable" in _reply_text(_lookup(client, slack))


def test_hanging_bik_is_bounded_by_the_lookup_timeout(start_bot, bik, slack):
    _, client = start_bot(bik_timeout_seconds=1)
    bik.script("abcd-122345", b.hang(30))
    started = time.monotonic()
    text = _reply_text(_lookup(client, slack))
    assert "BIK did not answer in time" in text
    assert 0.9 < time.monotonic() - started < 2.0


def test_timeout_past_the_ack_budget_is_delivered_once_through_response_url(start_bot, bik, slack):
    _, client = start_bot(bik_timeout_seconds=1, ack_budget=0.3)
    bik.script("abcd-122345", b.hang(30))
    hook = slack.new_hook()
    response = client.command("abcd-122345", response_url=hook)
    assert "slow" in response.json()["text"]
    [posted] = wait_for(lambda: slack.posts(hook), timeout=5)
    assert "did not answer in time" in _reply_text(posted)


@pytest.mark.parametrize(
    "behaviour",
    [
        b.raw(200, "<html>maintenance</html>"),
        b.status(200, {"status": 200, "success": True, "data": ["not", "a", "customer"]}),
        b.status(200, {"status": 200, "success": True, "data": {"customer": {"addresses": "nope", "id": 1}}}),
        b.status(200, {"status": 200, "success": True, "data": {}}),
        b.status(200, {"success": False}),
        b.raw(418, "teapot", "text/plain"),
    ],
    ids=["html", "data-list", "addresses-string", "empty-data", "success-false", "418"],
)
def test_unexpected_answers_say_so_and_never_log_the_body(bot, bik, slack, logs, behaviour):
    _, client = bot
    bik.script("abcd-122345", behaviour)
    assert "Unexpected answer from BIK" in _reply_text(_lookup(client, slack))
    assert "maintenance" not in logs.text and "teapot" not in logs.text
    assert logs.events("bik_failed")[0]["kind"] == "unexpected"


def test_success_false_with_embedded_406_is_not_found(bot, bik, slack):
    _, client = bot
    bik.script("abcd-122345", b.status(200, {"status": 406, "success": False, "errors": [{"message": "nf"}]}))
    assert "No customer with" in _reply_text(_lookup(client, slack))


def test_oversized_body_is_refused_without_reading_it_all(bot, bik, slack):
    _, client = bot
    bik.script("abcd-122345", b.huge(20))
    assert "Unexpected answer from BIK" in _reply_text(_lookup(client, slack))


def test_connection_reset_mid_body_is_retried(bot, bik, slack):
    _, client = bot
    bik.script("abcd-122345", b.reset())
    message = _lookup(client, slack)
    assert message["blocks"][0]["text"]["text"] == "Test Last"
    assert bik.count("abcd-122345") == 2


def test_customer_directly_under_data_and_string_ids_are_read(bot, bik, slack):
    _, client = bot
    record = {
        "id": "77",
        "partnerCustomerId": "abcd-122345",
        "firstName": "Flat",
        "countryCode": None,
        "unknownField": {"nested": True},
    }
    bik.script("abcd-122345", b.customer(record, nested=False))
    message = _lookup(client, slack)
    assert message["blocks"][0]["text"]["text"] == "Flat"
    assert "None" not in str(message) and "null" not in str(message)
