"""/bik-customer over real HTTP: signed form posts in, what Slack would show out."""

from __future__ import annotations

import time

from tests.blockkit import assert_valid_message
from tests.fakes import bik as b
from tests.fakes.botserver import BIK_TOKEN, wait_for


def test_documented_example_arrives_in_the_ack(bot, bik, slack):
    _, client = bot
    hook = slack.new_hook()
    started = time.monotonic()
    response = client.command("abcd-122345", response_url=hook)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    message = response.json()
    assert_valid_message(message)  # our limits and slack_sdk's models
    assert message["response_type"] == "ephemeral"
    assert message["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Test Last", "emoji": False},
    }
    fields = [f["text"] for f in message["blocks"][1]["fields"]]
    assert "*BIK id*\n5482636" in fields
    assert "*Phone*\n+919090909090" in fields
    assert any(f.startswith("*Created*\n<!date^1723195975^") for f in fields)
    assert "Test Last" in message["text"]
    assert elapsed < 2.0
    # The reply travelled in the ack: nothing more is posted to response_url.
    time.sleep(0.2)
    assert slack.posts(hook) == []
    # BIK saw exactly the documented request.
    [seen] = bik.requests
    assert seen.body == {
        "partnerCustomerId": "abcd-122345",
        "includeAssets": True,
        "includeAddress": True,
        "includeTags": True,
    }
    assert seen.headers["Authorization"] == f"Basic {BIK_TOKEN}"


def test_bik_id_query_sends_bik_customer_id_as_a_string(bot, bik, slack):
    _, client = bot
    response = client.command("bik:5482636", response_url=slack.new_hook())
    assert response.json()["blocks"][0]["text"]["text"] == "Test Last"
    assert bik.requests[0].body["bikCustomerId"] == "5482636"
    assert "partnerCustomerId" not in bik.requests[0].body


def test_bare_digits_not_found_as_partner_id_are_tried_as_bik_id(bot, bik, slack):
    _, client = bot
    message = client.command("5482640", response_url=slack.new_hook()).json()
    assert message["blocks"][0]["text"]["text"] == "Numeric Id"
    assert [r.body.get("partnerCustomerId") or r.body.get("bikCustomerId") for r in bik.requests] == [
        "5482640",
        "5482640",
    ]
    assert "partnerCustomerId" in bik.requests[0].body and "bikCustomerId" in bik.requests[1].body


def test_not_found_names_the_id_and_its_kind(bot, slack):
    _, client = bot
    message = client.command("partner:nobody-here", response_url=slack.new_hook()).json()
    assert_valid_message(message)
    assert "No customer with partner id `nobody-here`" in message["blocks"][0]["text"]["text"]
    assert "nobody-here" in message["text"]


def test_several_queries_make_one_reply_with_a_card_each(bot, bik, slack):
    _, client = bot
    message = client.command("abcd-122345 vip-7 partner:missing", response_url=slack.new_hook()).json()
    assert_valid_message(message)
    headers = [blk["text"]["text"] for blk in message["blocks"] if blk["type"] == "header"]
    assert headers == ["Test Last", "Meera Iyer"]
    assert any(
        "No customer with partner id `missing`" in blk.get("text", {}).get("text", "")
        for blk in message["blocks"]
    )
    assert bik.count() == 3


def test_in_channel_reply_mode_from_the_policy(bot, slack):
    _, client = bot
    message = client.command("abcd-122345", channel="CPUBLIC", response_url=slack.new_hook()).json()
    assert message["response_type"] == "in_channel"
    assert not any(
        blk["type"] == "actions" and any(e["action_id"] == "share_in_channel" for e in blk["elements"])
        for blk in message["blocks"]
    )


def test_slow_bik_gets_a_placeholder_ack_then_one_reply_through_response_url(start_bot, bik, slack):
    _, client = start_bot(ack_budget=0.3)
    bik.script("abcd-122345", b.delay(0.8))
    hook = slack.new_hook()
    started = time.monotonic()
    response = client.command("abcd-122345", response_url=hook)
    ack_time = time.monotonic() - started
    assert response.status_code == 200
    assert_valid_message(response.json())
    assert "slow" in response.json()["text"]
    assert ack_time < 0.7
    [posted] = wait_for(lambda: slack.posts(hook), timeout=5)
    assert posted["blocks"][0]["text"]["text"] == "Test Last"
    time.sleep(0.3)
    assert len(slack.posts(hook)) == 1


def test_help_and_empty_text_show_usage_without_calling_bik(bot, bik, slack):
    _, client = bot
    for text in ("help", "", "   "):
        message = client.command(text, response_url=slack.new_hook()).json()
        assert_valid_message(message)
        assert "partner:&lt;id&gt;" in message["blocks"][0]["text"]["text"]
    assert bik.count() == 0


def test_invalid_input_is_named_and_makes_no_bik_call(bot, bik, slack):
    _, client = bot
    cases = {
        "<@U123|someone>": "`@someone` is a mention",
        "bik:abc": "`bik:abc` isn't a BIK id",
        "a b c d e f": "at most 5",
        "x" * 200: "at most 128",
        "<https://example.com|link>": "`https://example.com` is a link",
    }
    for text, expected in cases.items():
        response = client.command(text, response_url=slack.new_hook())
        assert response.status_code == 200
        assert_valid_message(response.json())
        assert expected in response.json()["blocks"][0]["text"]["text"], text
    assert bik.count() == 0


def test_typed_angle_brackets_are_unescaped_into_the_id(bot, bik, slack):
    _, client = bot
    client.command("a&amp;b&lt;c&gt;", response_url=slack.new_hook())
    assert bik.requests[0].body["partnerCustomerId"] == "a&b<c>"


def test_channel_not_in_policy_is_denied_with_how_to_allow_it_and_no_bik_call(bot, bik, slack):
    _, client = bot
    message = client.command("abcd-122345", channel="CNOTLISTED", response_url=slack.new_hook()).json()
    assert_valid_message(message)
    text = message["blocks"][0]["text"]["text"]
    assert "`CNOTLISTED`" in text and "[channels.CNOTLISTED]" in text and "allow = true" in text
    assert bik.count() == 0


def test_no_policy_file_denies_every_channel(start_bot, bik, slack, tmp_path):
    _, client = start_bot(bik_access_policy=tmp_path / "absent.toml")
    message = client.command("abcd-122345", response_url=slack.new_hook()).json()
    assert "isn't allowed" in message["text"]
    assert bik.count() == 0


def test_direct_messages_follow_their_own_entry(start_bot, bik, slack):
    policy = "[defaults]\nallow = true\n[direct_messages]\nallow = false\n"
    _, client = start_bot(policy)
    denied = client.command(
        "abcd-122345", channel="D123", channel_name="directmessage", response_url=slack.new_hook()
    )
    assert "direct messages" in denied.json()["text"]
    allowed = client.command("abcd-122345", channel="C999", response_url=slack.new_hook())
    assert allowed.json()["blocks"][0]["type"] == "header"
    assert bik.count() == 1


def test_bad_signature_is_rejected_with_401_and_nothing_happens(bot, bik, slack):
    _, client = bot
    hook = slack.new_hook()
    wrong = client.command("abcd-122345", response_url=hook, secret="not-the-secret")
    stale = client.command("abcd-122345", response_url=hook, timestamp=int(time.time()) - 600)
    forged = client.command("abcd-122345", response_url=hook, signature="v0=" + "0" * 64)
    assert [wrong.status_code, stale.status_code, forged.status_code] == [401, 401, 401]
    time.sleep(0.2)
    assert bik.count() == 0 and slack.posts(hook) == []


def test_healthz_answers_json(bot):
    server, client = bot
    response = client.http.get(server.url + "/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_startup_checks_the_slack_token_once(bot, slack):
    wait_for(lambda: slack.method_calls("auth.test"), timeout=5)
    assert len(slack.method_calls("auth.test")) == 1


def test_one_audit_line_per_lookup_with_the_spec_fields_and_no_pii(bot, bik, slack, logs):
    _, client = bot
    client.command("abcd-122345 partner:missing", response_url=slack.new_hook())
    client.command("bik:abc", response_url=slack.new_hook())
    client.command("abcd-122345", channel="CNOTLISTED", response_url=slack.new_hook())
    events = logs.events("lookup")
    assert [e["outcome"] for e in events] == ["found", "not_found", "invalid", "denied"]
    found = events[0]
    for key in (
        "timestamp",
        "team",
        "channel",
        "user",
        "query_kind",
        "query_id",
        "bik_status",
        "latency_ms",
        "retries",
    ):
        assert key in found, key
    assert (found["team"], found["channel"], found["user"]) == ("T1", "CALLOWED", "U1")
    assert (found["query_kind"], found["query_id"], found["bik_status"], found["retries"]) == (
        "partner",
        "abcd-122345",
        200,
        0,
    )
    assert events[1]["bik_status"] == 406 and events[3]["reason"] == "channel_not_allowed"
    for pii in ("Test", "Last", "+919090909090", "test.2@bik.ai", "hsr layout", "bangalore"):
        assert pii not in logs.text, pii


def test_startup_logs_mode_policy_and_allowed_channels(start_bot, logs):
    start_bot()
    [started] = logs.events("started")
    assert started["mode"] == "http" and started["policy"].endswith("access.toml")
    assert started["allowed_channels"] == 2 and started["policy_loaded"] is True


def test_concurrent_lookups_of_the_same_id_share_one_bik_call(bot, bik, slack):
    from concurrent.futures import ThreadPoolExecutor

    from tests.fakes import bik as b

    _, client = bot
    bik.script("abcd-122345", b.delay(0.5))
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: client.command("abcd-122345", response_url=slack.new_hook()), range(8))
        )
    assert all(a.json()["blocks"][0]["text"]["text"] == "Test Last" for a in answers)
    assert bik.count("abcd-122345") == 1


def test_lookups_with_different_masking_never_share_a_call(start_bot, bik, slack):
    from concurrent.futures import ThreadPoolExecutor

    from tests.fakes import bik as b

    policy = '[channels.CAAA]\nallow = true\n[channels.CBBB]\nallow = true\nmask = ["phone"]\n'
    _, client = start_bot(policy)
    bik.script("abcd-122345", b.delay(0.5), b.delay(0.5))
    with ThreadPoolExecutor(2) as pool:
        a, m = pool.map(
            lambda c: client.command("abcd-122345", channel=c, response_url=slack.new_hook()),
            ["CAAA", "CBBB"],
        )
    assert "+919090909090" in a.text and "+919090909090" not in m.text
    assert bik.count("abcd-122345") == 2
