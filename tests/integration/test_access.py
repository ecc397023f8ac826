"""Access control and privacy over real HTTP (SPEC section 5): the Slack stand-in answers
conversations.info, users.info and usergroups.users.list from per-test state."""

from __future__ import annotations

import json
import time

import pytest

from tests.fakes.botserver import BIK_TOKEN, BOT_TOKEN, SIGNING_SECRET, wait_for

POLICY = """
[defaults]
allow = false

[channels.CPRIVATE]
allow = true

[channels.CPUBLIC]
allow = true
reply = "in_channel"

[channels.COPEN]
allow = true
reply = "in_channel"
external_unmasked = true

[channels.CMASKED]
allow = true
mask = ["phone", "email", "address"]

[channels.CNOSHARE]
allow = true
share = false

[channels.CGUESTS]
allow = true
guests = true

[channels.CONCALL]
allow = true
users = ["UONCALL"]
usergroups = ["SONCALL"]
"""

# Every form of the example customer's PII that must disappear when masked.
PHONE = ["+919090909090", "919090909090", "9090909090"]
EMAIL = ["test.2@bik.ai", "test.2"]
ADDRESS = ["hsr layout", "560102"]


def leaks(text: str, fields: set[str]) -> list[str]:
    values = {"phone": PHONE, "email": EMAIL, "address": ADDRESS}
    return [v for f in fields for v in values[f] if v in text]


@pytest.fixture
def bot(start_bot):
    return start_bot(POLICY)


def test_in_channel_reply_in_a_slack_connect_channel_is_fully_masked_everywhere(bot, slack, logs):
    _, client = bot
    slack.shared_channels.add("CPUBLIC")
    message = client.command("abcd-122345", channel="CPUBLIC", response_url=slack.new_hook()).json()
    assert message["response_type"] == "in_channel"
    whole = json.dumps(message)
    assert leaks(whole, {"phone", "email", "address"}) == []
    assert leaks(message["text"], {"phone", "email", "address"}) == []
    assert leaks(logs.text, {"phone", "email", "address"}) == []
    assert "+91******9090" in whole and "t***@bik.ai" in whole and "bangalore" in whole
    assert "masked in this channel" in whole
    [audit] = logs.events("lookup")
    assert audit["masked"] == ["address", "email", "phone"] and audit["visibility"] == "in_channel"


def test_in_channel_reply_in_an_internal_channel_is_not_masked(bot, slack):
    _, client = bot
    message = client.command("abcd-122345", channel="CPUBLIC", response_url=slack.new_hook()).json()
    assert "+919090909090" in json.dumps(message)
    assert slack.method_calls("conversations.info")[0]["channel"] == "CPUBLIC"


def test_external_unmasked_shows_data_in_a_shared_channel(bot, slack):
    _, client = bot
    slack.shared_channels.add("COPEN")
    message = client.command("abcd-122345", channel="COPEN", response_url=slack.new_hook()).json()
    assert "+919090909090" in json.dumps(message)


@pytest.mark.parametrize("how", ["500", "hang", "ratelimited", "channel_not_found"])
def test_slack_unreachable_means_the_channel_is_treated_as_shared(bot, slack, how):
    _, client = bot
    slack.fail("conversations.info", how)
    started = time.monotonic()
    response = client.command("abcd-122345", channel="CPUBLIC", response_url=slack.new_hook())
    assert time.monotonic() - started < 2.5  # bounded well inside Slack's 3 s
    assert leaks(json.dumps(response.json()), {"phone", "email", "address"}) == []


def test_ephemeral_replies_follow_the_mask_key(bot, slack, logs):
    _, client = bot
    message = client.command("abcd-122345 vip-7", channel="CMASKED", response_url=slack.new_hook()).json()
    whole = json.dumps(message)
    assert leaks(whole, {"phone", "email", "address"}) == []
    assert "14155550123" not in whole and "meera.iyer" not in whole and "1 Market St" not in whole
    assert "37.79" not in whole  # no map link for a masked address
    assert leaks(logs.text, {"phone", "email", "address"}) == []
    assert slack.method_calls("conversations.info") == []  # ephemeral: no need to ask


def test_ephemeral_reply_in_a_shared_channel_is_not_forced_masked(bot, slack):
    _, client = bot
    slack.shared_channels.add("CPRIVATE")
    message = client.command("abcd-122345", channel="CPRIVATE", response_url=slack.new_hook()).json()
    assert "+919090909090" in json.dumps(message)


def test_guest_is_denied_without_a_bik_call(bot, bik, slack, logs):
    _, client = bot
    slack.guests.add("UGUEST")
    message = client.command(
        "abcd-122345", channel="CPRIVATE", user="UGUEST", response_url=slack.new_hook()
    ).json()
    assert "Guest accounts can't look up" in message["text"]
    assert bik.count() == 0
    assert logs.events("lookup")[0]["reason"] == "guest"


def test_guest_is_allowed_where_guests_is_true(bot, bik, slack):
    _, client = bot
    slack.guests.add("UGUEST")
    message = client.command(
        "abcd-122345", channel="CGUESTS", user="UGUEST", response_url=slack.new_hook()
    ).json()
    assert message["blocks"][0]["type"] == "header"
    assert slack.method_calls("users.info") == []  # nothing to ask when guests are welcome


def test_users_info_failing_refuses_with_try_again(bot, bik, slack):
    _, client = bot
    slack.fail("users.info", "500")
    message = client.command("abcd-122345", channel="CPRIVATE", response_url=slack.new_hook()).json()
    assert "Slack didn't answer" in message["text"]
    assert bik.count() == 0


def test_users_and_user_groups_restrict_who_may_run_it(bot, bik, slack):
    _, client = bot
    slack.groups["SONCALL"] = ["UMEMBER"]
    listed = client.command("abcd-122345", channel="CONCALL", user="UONCALL", response_url=slack.new_hook())
    member = client.command("abcd-122345", channel="CONCALL", user="UMEMBER", response_url=slack.new_hook())
    other = client.command("abcd-122345", channel="CONCALL", user="UOTHER", response_url=slack.new_hook())
    assert listed.json()["blocks"][0]["type"] == "header"
    assert member.json()["blocks"][0]["type"] == "header"
    assert "Only selected people" in other.json()["text"] and "`UOTHER`" in other.json()["text"]
    assert bik.count() == 2
    # The group's members are cached: one usergroups.users.list call for the two that needed it.
    assert len(slack.method_calls("usergroups.users.list")) == 1


def test_user_group_lookup_failing_denies(bot, bik, slack):
    _, client = bot
    slack.fail("usergroups.users.list", "500")
    message = client.command(
        "abcd-122345", channel="CONCALL", user="UOTHER", response_url=slack.new_hook()
    ).json()
    assert "Slack didn't answer" in message["text"]
    assert bik.count() == 0


def test_no_secret_ever_reaches_the_logs(start_bot, bik, slack, logs):
    from tests.fakes import bik as b

    _, client = start_bot(POLICY, LOG_LEVEL="DEBUG")
    bik.script("abcd-122345", b.status(401), b.status(500), b.status(500), b.status(500))
    client.command("abcd-122345", channel="CPRIVATE", response_url=slack.new_hook())
    client.command("abcd-122345", channel="CPRIVATE", response_url=slack.new_hook())
    client.command("abcd-122345", channel="CNOTLISTED", response_url=slack.new_hook())
    client.command("bik:zz", channel="CPRIVATE", response_url=slack.new_hook(), secret="wrong")
    wait_for(lambda: logs.events("slack_connected"), timeout=5)
    assert len(logs.events("lookup")) == 3
    for secret in (BIK_TOKEN, BOT_TOKEN, SIGNING_SECRET):
        assert secret not in logs.text
