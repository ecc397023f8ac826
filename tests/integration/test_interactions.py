"""Buttons over real HTTP: every click re-checks the policy for the channel it is used in and the
user who clicked, and re-fetches the customer (the button's value is only a query)."""

from __future__ import annotations

import json
import time

import pytest

from bot import cards
from tests.fakes.botserver import wait_for
from tests.integration.test_access import POLICY, leaks


@pytest.fixture
def bot(start_bot):
    return start_bot(POLICY)


def test_share_posts_the_card_for_the_whole_channel_and_audits_it(bot, bik, slack, logs):
    _, client = bot
    hook = slack.new_hook()
    response = client.action(
        cards.ACTION_SHARE, "partner:abcd-122345", channel="CPRIVATE", user="U2", response_url=hook
    )
    assert response.status_code == 200
    [posted] = wait_for(lambda: slack.posts(hook))
    assert posted["response_type"] == "in_channel" and posted["replace_original"] is False
    assert posted["blocks"][0]["text"]["text"] == "Test Last"
    assert posted["blocks"][-1]["elements"][0]["text"].startswith("Shared by <@U2> · data as of <!date^")
    assert "+919090909090" in json.dumps(posted)  # an internal channel: not masked
    assert not any(
        e.get("action_id") == cards.ACTION_SHARE
        for b in posted["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    )
    assert bik.count() == 1  # re-fetched, not taken from the payload
    share = wait_for(lambda: [e for e in logs.events("lookup") if e.get("surface") == "share"])
    assert (
        share[0]["outcome"] == "shared"
        and share[0]["user"] == "U2"
        and share[0]["visibility"] == "in_channel"
    )


def test_share_in_a_slack_connect_channel_is_fully_masked(bot, slack, logs):
    _, client = bot
    slack.shared_channels.add("CPRIVATE")
    hook = slack.new_hook()
    client.action(cards.ACTION_SHARE, "partner:abcd-122345", channel="CPRIVATE", response_url=hook)
    [posted] = wait_for(lambda: slack.posts(hook))
    assert leaks(json.dumps(posted), {"phone", "email", "address"}) == []
    assert "+91******9090" in json.dumps(posted)
    assert leaks(logs.text, {"phone", "email", "address"}) == []


def test_share_where_sharing_is_off_explains_and_posts_nothing_for_the_channel(bot, bik, slack):
    _, client = bot
    hook = slack.new_hook()
    client.action(cards.ACTION_SHARE, "partner:abcd-122345", channel="CNOSHARE", response_url=hook)
    [posted] = wait_for(lambda: slack.posts(hook))
    assert posted["response_type"] == "ephemeral" and posted["replace_original"] is False
    assert "Sharing customer cards is turned off" in posted["text"]
    assert bik.count() == 0


def test_share_is_rechecked_in_the_channel_where_it_is_clicked(bot, bik, slack):
    _, client = bot
    hook = slack.new_hook()
    client.action(cards.ACTION_SHARE, "partner:abcd-122345", channel="CNOTLISTED", response_url=hook)
    [posted] = wait_for(lambda: slack.posts(hook))
    assert "isn't allowed" in posted["text"] and posted["response_type"] == "ephemeral"
    assert bik.count() == 0


def test_share_is_rechecked_for_the_user_who_clicks(bot, bik, slack):
    _, client = bot
    slack.guests.add("UGUEST")
    hook = slack.new_hook()
    client.action(
        cards.ACTION_SHARE, "partner:abcd-122345", channel="CPRIVATE", user="UGUEST", response_url=hook
    )
    [posted] = wait_for(lambda: slack.posts(hook))
    assert "Guest accounts" in posted["text"]
    assert bik.count() == 0


def test_a_forged_button_value_is_parsed_again_and_refused(bot, bik, slack):
    _, client = bot
    hook = slack.new_hook()
    client.action(cards.ACTION_SHARE, '{"firstName": "<!channel>"}', channel="CPRIVATE", response_url=hook)
    [posted] = wait_for(lambda: slack.posts(hook))
    assert posted["response_type"] == "ephemeral"
    assert "<!channel>" not in json.dumps(posted)


def test_show_all_addresses_opens_a_modal_then_fills_it(bot, bik, slack):
    _, client = bot
    response = client.action(
        cards.ACTION_ADDRESSES, "partner:many-addresses", channel="CPRIVATE", response_url=slack.new_hook()
    )
    assert response.status_code == 200
    [opened] = wait_for(lambda: slack.method_calls("views.open"))
    assert opened["trigger_id"] == "1.2.3"
    [updated] = wait_for(lambda: slack.method_calls("views.update"))
    view = json.loads(updated["view"]) if isinstance(updated["view"], str) else updated["view"]
    assert view["title"]["text"] == "Addresses (60)"
    assert len(view["blocks"]) == 61 and "*Default address*" in view["blocks"][1]["text"]["text"]


def test_show_all_addresses_masks_where_the_channel_masks(bot, slack):
    _, client = bot
    client.action(
        cards.ACTION_ADDRESSES, "partner:abcd-122345", channel="CMASKED", response_url=slack.new_hook()
    )
    [updated] = wait_for(lambda: slack.method_calls("views.update"))
    assert "hsr layout" not in str(updated["view"]) and "bangalore" in str(updated["view"])


def test_show_all_addresses_denied_in_a_channel_not_allowed(bot, bik, slack):
    _, client = bot
    client.action(
        cards.ACTION_ADDRESSES, "partner:many-addresses", channel="CNOTLISTED", response_url=slack.new_hook()
    )
    [updated] = wait_for(lambda: slack.method_calls("views.update"))
    assert "isn't allowed" in str(updated["view"])
    assert bik.count() == 0


def test_open_in_bik_link_button_is_acknowledged(bot, bik, slack):
    _, client = bot
    response = client.action(cards.ACTION_OPEN, "", channel="CPRIVATE", response_url=slack.new_hook())
    assert response.status_code == 200
    time.sleep(0.1)
    assert bik.count() == 0
