"""The security review's findings, each over real HTTP against the real app (docs/security.md).

Every payload starts from the corpus of real-shaped captures (``tests/payloads``): ``"enterprise":
null``, W… ids, Slack Connect users, org-wide installs with ``"team": null``.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from bot import cards
from tests import payloads
from tests.fakes import bik as bik_fakes
from tests.fakes.botserver import wait_for
from tests.integration import test_surfaces as surf
from tests.integration.test_access import POLICY, leaks

ALL = {"phone", "email", "address"}


@pytest.fixture
def bot(start_bot):
    return start_bot(POLICY)


def _views(slack):
    return [
        json.loads(c["view"]) if isinstance(c["view"], str) else c["view"]
        for c in slack.method_calls("views.update")
    ]


def _click(
    kind,
    *,
    action_id,
    value="partner:abcd-122345",
    channel="CPUBLIC",
    user="U2",
    hook="",
    team="T1",
    user_team=None,
):
    payload = payloads.interaction(
        kind,
        action_id=action_id,
        value=value,
        channel=channel,
        user=user,
        team=team,
        response_url=hook or None,
    )
    if user_team is not None:
        payload["user"]["team_id"] = user_team
    payload["actions"][0]["action_ts"] = f"{time.time():.6f}"  # every real click has its own
    return payload


# -- 1. Show all addresses from a card the whole channel reads --------------------------------------


def test_addresses_from_an_in_channel_card_in_a_slack_connect_channel_are_fully_masked(bot, slack, logs):
    _, client = bot
    slack.shared_channels.add("CPUBLIC")
    payload = _click("block_actions_in_channel", action_id=cards.ACTION_ADDRESSES)
    assert client.interaction(payload).status_code == 200
    [view] = wait_for(lambda: _views(slack))
    assert leaks(json.dumps(view), ALL) == []
    assert "addresses masked" in json.dumps(view)
    audit = wait_for(lambda: [e for e in logs.events("lookup") if e.get("surface") == "addresses"])
    assert sorted(audit[0]["masked"]) == sorted(ALL)


def test_addresses_from_a_private_card_follow_the_rule_only(bot, slack):
    _, client = bot
    slack.shared_channels.add("CPRIVATE")
    payload = _click("block_actions_ephemeral", action_id=cards.ACTION_ADDRESSES, channel="CPRIVATE")
    client.interaction(payload)
    [view] = wait_for(lambda: _views(slack))
    assert "560102" in json.dumps(view)  # only the asker sees it: [channels.CPRIVATE] masks nothing


# -- 2 / 5. Real shapes and people of another organisation ------------------------------------------


def test_an_org_wide_click_with_a_null_team_is_answered(bot, slack, bik):
    _, client = bot
    hook = slack.new_hook()
    payload = _click("block_actions_org_wide", action_id=cards.ACTION_SHARE, channel="CPRIVATE", hook=hook)
    assert payload["team"] is None and payload["enterprise"] is not None
    assert client.interaction(payload).status_code == 200
    [posted] = wait_for(lambda: slack.posts(hook))
    assert posted["response_type"] == "in_channel"


def test_a_person_of_another_organisation_cannot_share(bot, slack, bik, logs):
    _, client = bot
    hook = slack.new_hook()
    payload = _click(
        "block_actions_slack_connect",
        action_id=cards.ACTION_SHARE,
        channel="CPRIVATE",
        hook=hook,
        user_team="TOTHER",
    )
    client.interaction(payload)
    [told] = wait_for(lambda: slack.posts(hook))
    assert told["response_type"] == "ephemeral" and "outside the organisation" in told["text"]
    assert bik.count() == 0
    assert wait_for(lambda: [e for e in logs.events("lookup") if e.get("reason") == "external_user"])


def test_a_person_of_another_organisation_sees_addresses_masked_as_the_channel(bot, slack):
    _, client = bot
    # An ephemeral card cannot be another organisation's, but even if a payload says so, the
    # external clicker gets what the whole channel would read.
    slack.shared_channels.add("CPRIVATE")
    payload = _click(
        "block_actions_slack_connect",
        action_id=cards.ACTION_ADDRESSES,
        channel="CPRIVATE",
        user_team="TOTHER",
    )
    client.interaction(payload)
    [view] = wait_for(lambda: _views(slack))
    assert leaks(json.dumps(view), ALL) == []


def test_a_command_claiming_another_organisation_is_refused(bot, slack, bik):
    _, client = bot
    body = payloads.form_body(
        "command_plain",
        team_id="TOTHER",
        channel_id="CPRIVATE",
        user_id="U2",
        text="abcd-122345",
        response_url=slack.new_hook(),
    )
    reply = client.post(body).json()
    assert "outside the organisation" in reply["text"]
    assert bik.count() == 0


def test_a_grid_colleague_from_another_workspace_of_the_org_is_not_external(bot, slack, bik):
    server, client = bot
    server.bot.service.installation.enterprise_id = "E1"
    body = payloads.form_body(
        "command_enterprise_grid",
        team_id="T2",
        enterprise_id="E1",
        channel_id="CPRIVATE",
        text="abcd-122345",
        response_url=slack.new_hook(),
    )
    reply = client.post(body).json()
    assert reply["blocks"][0]["text"]["text"] == "Test Last"


# -- 3. Bodies bounded while they stream -------------------------------------------------------------


def test_a_chunked_upload_without_length_is_cut_at_the_cap(bot):
    server, client = bot

    def chunks():
        for _ in range(64):  # 64 MiB offered; the bot stops reading after 1 MiB
            yield b"x" * (1024 * 1024)

    response = client.http.post(server.url + "/slack/events", content=chunks())
    assert response.status_code == 413


# -- 4. The word "payload" in a slash command --------------------------------------------------------


def test_a_command_mentioning_payload_is_a_command(bot, slack, bik):
    _, client = bot
    reply = client.command(
        "payload-7", channel="CPRIVATE", channel_name="payload-team", response_url=slack.new_hook()
    )
    assert reply.status_code == 200
    assert "No customer" in json.dumps(reply.json())
    assert bik.count("payload-7") == 1


# -- 6. Bad signatures: no body in any log line, bounded logging -------------------------------------


def test_bad_signatures_log_no_body_and_at_most_one_line_per_period(bot, slack, logs):
    _, client = bot
    payload = _click(
        "block_actions_in_channel", action_id=cards.ACTION_SHARE, hook="https://hooks.example/SECRETHOOK"
    )
    body = payloads.interaction_body(payload)
    for _ in range(200):
        assert client.post(body, secret="the-wrong-secret").status_code == 401
    assert "SECRETHOOK" not in logs.text and "cx-escalations" not in logs.text
    assert len(logs.events("bad_signature")) == 1


# -- 9. Work bounded before access and rate limit ----------------------------------------------------


def test_a_flood_of_distinct_ids_is_refused_at_once(bot, slack, bik):
    _, client = bot
    text = " ".join(f"id{i}" for i in range(6000))  # ~40,000 characters
    started = time.monotonic()
    reply = client.command(text, channel="CNOTLISTED", response_url=slack.new_hook())
    assert time.monotonic() - started < 1.0
    assert "at most 5" in reply.json()["blocks"][0]["text"]["text"]
    assert bik.count() == 0


# -- 10. The DM rule by id only ----------------------------------------------------------------------


def test_a_channel_named_directmessage_does_not_get_the_dm_rule(start_bot, slack, bik):
    _, client = start_bot("[defaults]\nallow = false\n[direct_messages]\nallow = true\n")
    reply = client.command(
        "abcd-122345", channel="C0FAKEDM", channel_name="directmessage", response_url=slack.new_hook()
    )
    assert "isn't allowed" in reply.json()["text"]
    assert bik.count() == 0


# -- 11. Rate limit on every click, by user, and an honest message for a too-big command ------------


def test_clicks_spend_the_budget_and_a_new_team_id_buys_nothing(start_bot, slack, bik):
    _, client = start_bot(POLICY, bik_rate_limit="2/minute")
    hooks = [slack.new_hook() for _ in range(3)]
    for hook, team in zip(hooks, ("T1", "T1", "T9"), strict=True):
        payload = _click(
            "block_actions_ephemeral", action_id=cards.ACTION_SHARE, channel="CPRIVATE", hook=hook
        )
        payload["team"]["id"] = team  # the workspace in the payload, not the person, changes
        client.interaction(payload)
    posted = [wait_for(lambda h=h: slack.posts(h))[0] for h in hooks]
    assert [p["response_type"] for p in posted].count("in_channel") == 2
    assert any("limit of customer lookups" in p.get("text", "") for p in posted)
    assert 1 <= bik.count() <= 2  # two concurrent shares of one id may share one BIK call


def test_a_command_costing_more_than_the_whole_budget_says_so(start_bot, slack, bik):
    _, client = start_bot(POLICY, bik_rate_limit="2/minute")
    reply = client.command("a b c", channel="CPRIVATE", response_url=slack.new_hook()).json()
    assert "at most 2 per minute" in reply["text"] and "Try again in" not in reply["text"]
    assert bik.count() == 0


# -- 12. Buttons carry the id that found the customer ------------------------------------------------


def test_buttons_after_a_digits_fallback_carry_the_bik_id(bot, slack, bik):
    _, client = bot
    reply = client.command("5482636", channel="CPRIVATE", response_url=slack.new_hook()).json()
    values = [e.get("value") for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "bik:5482636" in values and "partner:5482636" not in values


# -- 13. A non-numeric timestamp ---------------------------------------------------------------------


@pytest.mark.parametrize("timestamp", ["abc", "", "1e9", "-5", "١٢٣"])
def test_a_non_numeric_timestamp_is_a_401(bot, timestamp):
    server, client = bot
    response = client.http.post(
        server.url + "/slack/events",
        content=b"command=%2Fbik-customer",
        headers={"X-Slack-Request-Timestamp": timestamp.encode(), "X-Slack-Signature": "v0=00"},
    )
    assert response.status_code == 401


# -- 14. A deeply nested BIK answer during a Share ---------------------------------------------------


def test_a_deeply_nested_answer_during_a_share_is_told_and_audited(bot, slack, bik, logs):
    _, client = bot
    bik.script("abcd-122345", bik_fakes.raw(200, "[" * 50_000 + "]" * 50_000, "application/json"))
    hook = slack.new_hook()
    client.interaction(
        _click("block_actions_ephemeral", action_id=cards.ACTION_SHARE, channel="CPRIVATE", hook=hook)
    )
    [told] = wait_for(lambda: slack.posts(hook))
    assert told["response_type"] == "ephemeral" and "unexpected answer" in told["text"].lower()
    assert wait_for(lambda: [e for e in logs.events("lookup") if e.get("surface") == "share"])


# -- 17. A replayed Share posts once -----------------------------------------------------------------


def test_a_replayed_share_posts_once(bot, slack, bik):
    _, client = bot
    hook = slack.new_hook()
    payload = _click("block_actions_ephemeral", action_id=cards.ACTION_SHARE, channel="CPRIVATE", hook=hook)
    body = payloads.interaction_body(payload)
    timestamp = int(time.time())
    for _ in range(3):
        assert client.post(body, timestamp=timestamp).status_code == 200
    wait_for(lambda: slack.posts(hook))
    time.sleep(0.3)
    assert len(slack.posts(hook)) == 1
    assert bik.count() == 1


# -- the second review: the new surfaces --------------------------------------------------------------

SURFACES_POLICY = """
[defaults]
allow = true
share = true

[direct_messages]
allow = false

[channels.CNOSHOW]
allow = true
reply = "ephemeral"
share = false
"""


@pytest.fixture
def surfaces_bot(start_bot):
    return start_bot(SURFACES_POLICY, bik_dashboard_url=surf.DASHBOARD, bik_policy_reload_seconds=0)


def test_a_link_in_a_g_channel_of_unknown_kind_follows_the_stricter_rule(surfaces_bot, bik, slack, logs):
    _, client = surfaces_bot
    client.event(surf.link_shared([surf.dashboard("5482636")], channel="G06K8P2RX7T"))
    assert wait_for(lambda: [e for e in logs.events("lookup") if e.get("surface") == "unfurl"])
    assert slack.method_calls("chat.unfurl") == [] and bik.count() == 0


def test_a_replayed_view_submission_posts_to_the_channel_once(surfaces_bot, bik, slack):
    _, client = surfaces_bot
    client.interaction(surf.global_shortcut())
    [opened] = wait_for(lambda: surf.sent_views(slack, "views.open"))
    hook = slack.new_hook()
    urls = [
        {"block_id": "post_to", "action_id": "post_to_select", "channel_id": "CALLOWED", "response_url": hook}
    ]
    body = payloads.interaction_body(
        surf.submission(opened, surf.query_values("abcd-122345", post_to="CALLOWED"), response_urls=urls)
    )
    timestamp = int(time.time())
    for _ in range(3):
        assert client.post(body, timestamp=timestamp).status_code == 200
    # [direct_messages] denies the private lookup here: nothing is looked up or posted, once.
    wait_for(lambda: surf.sent_views(slack, "views.update"))
    time.sleep(0.3)
    assert len(surf.sent_views(slack, "views.update")) == 1 and slack.posts(hook) == []


def test_an_expired_trigger_looks_nothing_up(surfaces_bot, bik, slack, logs):
    _, client = surfaces_bot
    slack.fail("views.open", "expired_trigger_id")
    hook = slack.new_hook()
    client.interaction(surf.message_shortcut("partner:abcd-122345", response_url=hook))
    wait_for(lambda: slack.method_calls("views.open"))
    time.sleep(0.3)
    assert (
        bik.count() == 0
        and [e for e in logs.events("lookup") if e.get("surface") == "message_shortcut"] == []
    )


def test_a_slow_views_open_never_holds_the_ack(surfaces_bot, slack):
    _, client = surfaces_bot
    slack.fail("views.open", "hang")
    started = time.monotonic()
    response = client.interaction(surf.message_shortcut("partner:abcd-122345", response_url=slack.new_hook()))
    assert response.status_code == 200 and time.monotonic() - started < 1.0


def test_unsigned_bodies_past_the_process_budget_are_answered_busy(surfaces_bot):
    server, client = surfaces_bot
    server.bot.body_budget.limit = 10_000
    response = client.post("x=" + "a" * 20_000, secret="wrong-secret")
    assert response.status_code == 503
    assert server.bot.body_budget.held == 0  # given back
    assert client.post("x=1", secret="wrong-secret").status_code == 401


def test_refresh_of_an_in_channel_card_where_the_channel_no_longer_reads_cards_is_refused(
    surfaces_bot, bik, slack
):
    _, client = surfaces_bot
    hook = slack.new_hook()
    payload = _click("block_actions_in_channel", action_id=cards.ACTION_REFRESH, channel="CNOSHOW", hook=hook)
    client.interaction(payload)
    [told] = wait_for(lambda: slack.posts(hook))
    assert told.get("replace_original") is not True and "no longer shows customer cards" in told["text"]
    assert bik.count() == 0


def test_who_we_are_is_asked_again_until_slack_answers(start_bot, slack):
    slack.auth_error = "ratelimited"
    server, _ = start_bot(SURFACES_POLICY)
    time.sleep(0.3)
    assert server.bot.service.installation.team_id is None
    slack.auth_error = None
    wait_for(lambda: server.bot.service.installation.team_id == "T1", timeout=5)


def test_replies_go_to_slacks_hooks_only(surfaces_bot, slack, logs):
    _, client = surfaces_bot
    elsewhere = slack.server.url + "/api/exfiltrate"
    client.command("abcd-122345", channel="CALLOWED", response_url=elsewhere)
    payload = _click(
        "block_actions_ephemeral", action_id=cards.ACTION_SHARE, channel="CALLOWED", hook=elsewhere
    )
    client.interaction(payload)
    assert wait_for(lambda: logs.events("reply_refused"))
    assert slack.method_calls("exfiltrate") == []


def test_a_phone_like_partner_id_is_kept_in_recent_lookups_as_the_bik_id(start_bot, bik, slack):
    server, client = start_bot(SURFACES_POLICY)
    bik.script("+919812345678", bik_fakes.customer({"id": "5482699", "partnerCustomerId": "+919812345678"}))
    client.command("partner:+919812345678", channel="CALLOWED", response_url=slack.new_hook())
    recent = wait_for(lambda: asyncio.run(server.bot.service.recent.list("T1", "U1")))
    assert [r.query for r in recent] == ["bik:5482699"]


def test_show_all_addresses_from_a_modal_card_opens_on_top_masked_by_its_rule(surfaces_bot, bik, slack):
    _, client = surfaces_bot
    client.interaction(surf.message_shortcut("partner:many-addresses", response_url=slack.new_hook()))
    modal = wait_for(lambda: surf.sent_views(slack, "views.update"))[-1]
    client.interaction(
        surf.modal_click(modal, cards.ACTION_ADDRESSES, surf.button(modal, cards.ACTION_ADDRESSES)["value"])
    )
    pushed = wait_for(lambda: slack.method_calls("views.push"))
    assert pushed
    full = wait_for(
        lambda: [
            v for v in surf.sent_views(slack, "views.update") if "Addresses" in json.dumps(v.get("title"))
        ]
    )
    assert "Not allowed" not in json.dumps(full[-1])


def test_app_rate_limited_is_acknowledged(surfaces_bot):
    _, client = surfaces_bot
    body = {
        "token": "x",
        "type": "app_rate_limited",
        "team_id": "T1",
        "minute_rate_limited": 1518467820,
        "api_app_id": "A1",
    }
    assert client.event(body).status_code == 200
