"""Lookups beyond the command (SPEC 9), through the real app over HTTP and over Socket Mode: the message
shortcut, the global shortcut and its "Also post to", link unfurling, the App Home, and Refresh / Try again.

Every request is a payload of the corpus (``tests/payloads``) as Slack sends it, with only ids and values
changed; a modal's submission or click carries the view the bot itself opened, as Slack echoes it back.
Each test checks what Slack would show (``views.*``, ``chat.unfurl``, response_url posts), what BIK was
asked, and the audit line of its surface; the Slack stand-in checks everything sent against Block Kit.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from bot import cards, views
from bot.access import Policy
from tests import payloads
from tests.fakes import bik as b
from tests.fakes.bik import FakeBik
from tests.fakes.botserver import APP, TEAM, BotServer, wait_for
from tests.fakes.process import BotProcess, stand_in_env
from tests.fakes.slack import FakeSlack

DASHBOARD = "https://bik-dashboard.example.com/customers/{bik_id}"

POLICY = """
[defaults]
allow = false

[direct_messages]
allow = true

[channels.CALLOWED]
allow = true

[channels.CMASKED]
allow = true
mask = ["phone"]

# A Slack Connect channel in the tests that add it to slack.shared_channels.
[channels.CCONNECT]
allow = true
mask = ["email"]

[channels.CNOSHARE]
allow = true
share = false

[channels.CGUESTS]
allow = true
guests = true

[channels.CNOUNFURL]
allow = true
unfurl = false

[channels.CONCALL]
allow = true
users = ["UONCALL"]
"""

NO_DIRECT_MESSAGES = POLICY.replace("[direct_messages]\nallow = true", "[direct_messages]\nallow = false")

# The sandbox's example customer (bot/sandbox.py) and every form of its data a masked view must not show.
NAME = "Test Last"
PARTNER = "abcd-122345"
BIK_ID = "5482636"
PHONE, MASKED_PHONE = "+919090909090", "+91******9090"
EMAIL, MASKED_EMAIL = "test.2@bik.ai", "t***@bik.ai"
STREET = "hsr layout"
PII = {"phone": [PHONE, "9090909090"], "email": [EMAIL, "test.2"], "address": [STREET, "560102"]}


def leaks(node: Any, fields: set[str]) -> list[str]:
    text = node if isinstance(node, str) else json.dumps(node)
    return [value for field in sorted(fields) for value in PII[field] if value in text]


def dashboard(bik_id: str) -> str:
    return DASHBOARD.format(bik_id=bik_id)


@pytest.fixture
def bot(start_bot):
    return start_bot(POLICY, bik_dashboard_url=DASHBOARD, bik_policy_reload_seconds=0)


# -- helpers --------------------------------------------------------------------------------------------


def decoded(value: Any) -> Any:
    """A Web API argument as sent: form-encoded calls carry ``view``/``unfurls`` as JSON strings."""
    return json.loads(value) if isinstance(value, str) else value


def sent_views(slack: FakeSlack, method: str) -> list[dict[str, Any]]:
    return [decoded(params["view"]) for params in slack.method_calls(method)]


def settle(server: BotServer) -> None:
    """Wait until the bot has finished everything the requests so far started (its tracked tasks)."""
    wait_for(lambda: server.bot.tasks.in_flight == 0, timeout=15)


def buttons(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            if item.get("type") == "button":
                found.append(item)
            for value in item.values():
                walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)

    walk(node)
    return found


def action_ids(node: Any) -> list[str]:
    return [str(button.get("action_id")) for button in buttons(node)]


def button(node: Any, action_id: str) -> dict[str, Any]:
    [found] = [item for item in buttons(node) if item.get("action_id") == action_id]
    return found


def lookups(logs: Any, surface: str) -> list[dict[str, Any]]:
    return [event for event in logs.events("lookup") if event.get("surface") == surface]


def replaced(node: Any, swaps: dict[str, str]) -> Any:
    """Every string value equal to a key of ``swaps`` replaced (ids repeat all over a payload)."""
    if isinstance(node, dict):
        return {key: replaced(value, swaps) for key, value in node.items()}
    if isinstance(node, list):
        return [replaced(item, swaps) for item in node]
    return swaps.get(node, node) if isinstance(node, str) else node


def message_shortcut(
    text: str,
    *,
    response_url: str,
    channel: str = "CALLOWED",
    user: str = "U1",
    rich: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``shortcut_message`` on a message whose ``text`` (mrkdwn) and rich text block say ``text``."""
    payload = payloads.interaction(
        "shortcut_message", channel=channel, user=user, team=TEAM, response_url=response_url
    )
    payload["callback_id"] = "lookup_message"  # the manifest's callback id
    message = payload["message"]
    message["text"] = text
    elements = rich if rich is not None else [{"type": "text", "text": text}]
    message["blocks"][0]["elements"][0]["elements"] = elements
    return payload


def global_shortcut(user: str = "U1") -> dict[str, Any]:
    payload = payloads.interaction("shortcut_global", user=user, team=TEAM)
    payload["callback_id"] = "lookup_customer"
    return payload


def query_values(text: str | None, post_to: str | None = None) -> dict[str, Any]:
    """``view.state.values`` of the bot's query modal as Slack sends it (an untouched picker: null)."""
    values: dict[str, Any] = {
        views.BLOCK_QUERIES: {views.ACTION_QUERIES: {"type": "plain_text_input", "value": text}}
    }
    values[views.BLOCK_POST_TO] = {
        views.ACTION_POST_TO: {"type": "conversations_select", "selected_conversation": post_to}
    }
    return values


def submission(
    opened: dict[str, Any],
    values: dict[str, Any],
    *,
    user: str = "U1",
    response_urls: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """``view_submission`` of the view the bot opened, as Slack echoes it back with the user's input."""
    payload = payloads.interaction("view_submission", user=user, team=TEAM, api_app_id=APP)
    view = payload["view"]
    for key in ("blocks", "callback_id", "private_metadata", "title", "submit", "close"):
        view[key] = opened.get(key, "" if key in ("callback_id", "private_metadata") else None)
    view["id"] = view["root_view_id"] = "V123"  # what views.open answered (the Slack stand-in)
    view["state"] = {"values": values}
    payload["response_urls"] = response_urls or []
    return payload


def modal_click(modal: dict[str, Any], action_id: str, value: str, *, user: str = "U1") -> dict[str, Any]:
    """``block_actions_modal``: a click on a button of ``modal`` (the view the bot last sent)."""
    payload = payloads.interaction(
        "block_actions_modal", action_id=action_id, value=value, user=user, team=TEAM, api_app_id=APP
    )
    view = payload["view"]
    for key in ("blocks", "callback_id", "private_metadata", "title", "close"):
        view[key] = modal.get(key, "")
    view["id"] = view["root_view_id"] = payload["container"]["view_id"] = "V123"  # views.open's answer
    payload["actions"][0]["text"]["text"] = button(modal, action_id)["text"]["text"]
    return payload


def home_click(action_id: str, value: str | None = None, *, user: str = "U1") -> dict[str, Any]:
    return payloads.interaction(
        "block_actions_home", action_id=action_id, value=value, user=user, team=TEAM, api_app_id=APP
    )


def link_shared(urls: list[str], *, channel: str = "CALLOWED", user: str = "U1") -> dict[str, Any]:
    """``event_callback_link_shared_channel``: a posted message with these links."""
    body = payloads.load("event_callback_link_shared_channel")
    body = replaced(
        body, {"T04ASJ0NWLW": TEAM, "A07K2M9Q4RT": APP, "C06HJ3W1KSQ": channel, "U05B7LKQ2PX": user}
    )
    body["event"]["links"] = [{"domain": url.split("/")[2], "url": url} for url in urls]
    return body


def home_opened(user: str = "U1") -> dict[str, Any]:
    body = payloads.load("event_callback_app_home_opened_home")
    return replaced(body, {"T04ASJ0NWLW": TEAM, "A07K2M9Q4RT": APP, "U05B7LKQ2PX": user})


def final_reply(response: Any, hook: str, slack: FakeSlack) -> dict[str, Any]:
    """A command's one final reply: in the ack, or on the response_url when BIK was slow."""
    ack = response.json()
    if "BIK is slow" not in ack.get("text", ""):
        return dict(ack)
    [posted] = wait_for(lambda: slack.posts(hook))
    return dict(posted)


# -- 9.1 the message shortcut ---------------------------------------------------------------------------


def test_message_shortcut_opens_a_modal_at_once_then_shows_the_cards(bot, bik, slack, logs):
    server, client = bot
    hook = slack.new_hook()
    payload = message_shortcut(
        f"customer partner:{PARTNER} (again: partner:{PARTNER}), see also bik:5482638.", response_url=hook
    )
    response = client.interaction(payload)
    assert response.status_code == 200
    settle(server)
    [opened] = slack.method_calls("views.open")
    assert opened["trigger_id"] == payload["trigger_id"]
    assert "Looking up" in json.dumps(decoded(opened["view"]))
    [updated] = slack.method_calls("views.update")
    assert updated["view_id"] == "V123"  # the view views.open opened
    modal = decoded(updated["view"])
    assert NAME in json.dumps(modal) and "Meera Iyer" in json.dumps(modal)
    assert PHONE in json.dumps(modal) and EMAIL in json.dumps(modal)  # CALLOWED masks nothing
    # A click in a modal has no response_url: no Refresh, and Share is the modal's own.
    assert cards.ACTION_REFRESH not in action_ids(modal) and cards.ACTION_SHARE not in action_ids(modal)
    assert action_ids(modal).count(views.ACTION_MODAL_SHARE) == 2
    # one BIK call per distinct id, duplicates dropped, the trailing "." not part of the id
    assert bik.count(PARTNER) == 1 and bik.count("5482638") == 1 and bik.count() == 2
    assert slack.posts(hook) == []  # a modal: nothing for the channel
    audit = lookups(logs, "message_shortcut")
    assert sorted((e["query_id"], e["outcome"]) for e in audit) == [("5482638", "found"), (PARTNER, "found")]
    assert {(e["channel"], e["user"], e["visibility"]) for e in audit} == {("CALLOWED", "U1", "ephemeral")}


def test_message_shortcut_opens_the_modal_before_bik_answers(bot, bik, slack):
    """The trigger_id expires 3 s after Slack sends it: views.open must not wait for BIK."""
    server, client = bot
    bik.script(PARTNER, b.delay(2.5))
    payload = message_shortcut(f"partner:{PARTNER}", response_url=slack.new_hook())
    arrived = time.monotonic()
    response = client.interaction(payload)
    wait_for(lambda: slack.method_calls("views.open"), interval=0.005)
    opened_after = time.monotonic() - arrived
    assert response.status_code == 200
    assert opened_after < 1.0, f"views.open {opened_after:.2f} s after the shortcut arrived"
    assert slack.method_calls("views.update") == []  # BIK has not answered yet
    wait_for(lambda: slack.method_calls("views.update"), timeout=10)
    assert time.monotonic() - arrived >= 2.5
    assert NAME in json.dumps(sent_views(slack, "views.update")[0])
    settle(server)
    assert len(slack.method_calls("views.open")) == 1 and len(slack.method_calls("views.update")) == 1


def test_message_shortcut_in_a_channel_not_allowed_says_why_and_asks_bik_nothing(bot, bik, slack, logs):
    server, client = bot
    client.interaction(
        message_shortcut(f"partner:{PARTNER}", channel="CNOTLISTED", response_url=slack.new_hook())
    )
    settle(server)
    [modal] = sent_views(slack, "views.update")
    text = json.dumps(modal)
    assert "isn't allowed" in text and "CNOTLISTED" in text and NAME not in text
    assert bik.count() == 0
    [audit] = lookups(logs, "message_shortcut")
    assert audit["outcome"] == "denied" and audit["reason"] == "channel_not_allowed"


@pytest.mark.parametrize(("channel", "allowed"), [("CALLOWED", False), ("CGUESTS", True)])
def test_message_shortcut_from_a_guest_needs_guests_true(bot, bik, slack, logs, channel, allowed):
    server, client = bot
    slack.guests.add("UGUEST")
    client.interaction(
        message_shortcut(f"partner:{PARTNER}", channel=channel, user="UGUEST", response_url=slack.new_hook())
    )
    settle(server)
    [modal] = sent_views(slack, "views.update")
    assert (NAME in json.dumps(modal)) is allowed
    assert ("Guest accounts" in json.dumps(modal)) is not allowed
    assert bik.count() == (1 if allowed else 0)
    [audit] = lookups(logs, "message_shortcut")
    assert audit["outcome"] == ("found" if allowed else "denied")


@pytest.mark.parametrize(
    ("channel", "shared", "masked"),
    [
        ("CMASKED", False, {"phone"}),  # the rule's mask
        # Slack Connect: a modal is seen by the clicker alone, so the rule's mask only, not all three
        ("CCONNECT", True, {"email"}),
    ],
)
def test_message_shortcut_modal_is_masked_by_the_rule_alone(bot, slack, logs, channel, shared, masked):
    server, client = bot
    if shared:
        slack.shared_channels.add(channel)
    client.interaction(message_shortcut(f"partner:{PARTNER}", channel=channel, response_url=slack.new_hook()))
    settle(server)
    [modal] = sent_views(slack, "views.update")
    assert NAME in json.dumps(modal)
    assert leaks(modal, masked) == []
    assert leaks(modal, {"phone", "email", "address"} - masked) != []  # the rest is shown
    assert (MASKED_PHONE in json.dumps(modal)) is ("phone" in masked)
    assert (MASKED_EMAIL in json.dumps(modal)) is ("email" in masked)
    [audit] = lookups(logs, "message_shortcut")
    assert set(audit["masked"]) == masked and audit["visibility"] == "ephemeral"


@pytest.mark.parametrize(
    ("channel", "shared", "masked"),
    [
        ("CALLOWED", False, set()),
        ("CMASKED", False, {"phone"}),
        ("CCONNECT", True, {"phone", "email", "address"}),  # what the whole channel reads: all three
    ],
)
def test_share_from_the_message_shortcut_modal_posts_through_its_response_url(
    bot, bik, slack, logs, channel, shared, masked
):
    server, client = bot
    if shared:
        slack.shared_channels.add(channel)
    hook = slack.new_hook()
    client.interaction(message_shortcut(f"partner:{PARTNER}", channel=channel, response_url=hook))
    settle(server)
    [modal] = sent_views(slack, "views.update")
    share = button(modal, views.ACTION_MODAL_SHARE)
    assert cards.ACTION_SHARE not in action_ids(modal)  # the message Share needs a message's response_url
    response = client.interaction(modal_click(modal, views.ACTION_MODAL_SHARE, share["value"]))
    assert response.status_code == 200
    settle(server)
    [posted] = slack.posts(hook)
    assert posted["response_type"] == "in_channel" and posted["replace_original"] is False
    assert posted["blocks"][0]["text"]["text"] == NAME
    assert "Shared by <@U1>" in json.dumps(posted)
    assert leaks(posted, masked) == [] and leaks(posted["text"], masked) == []
    if masked:
        assert leaks(posted, {"phone", "email", "address"} - masked) != [] or masked == {
            "phone",
            "email",
            "address",
        }
    assert leaks(logs.text, {"phone", "email"}) == []
    assert bik.count() == 2  # fetched again for the share, never taken from the payload
    [audit] = lookups(logs, "share")
    assert audit["outcome"] == "shared" and audit["channel"] == channel and set(audit["masked"]) == masked


def test_message_shortcut_where_sharing_is_off_has_no_share_button(bot, bik, slack):
    server, client = bot
    hook = slack.new_hook()
    client.interaction(message_shortcut(f"partner:{PARTNER}", channel="CNOSHARE", response_url=hook))
    settle(server)
    [modal] = sent_views(slack, "views.update")
    assert NAME in json.dumps(modal)
    assert views.ACTION_MODAL_SHARE not in action_ids(modal) and cards.ACTION_SHARE not in action_ids(modal)
    # A forged Share click from that modal is refused too: the policy is checked again.
    share = {
        "type": "button",
        "action_id": views.ACTION_MODAL_SHARE,
        "text": {"type": "plain_text", "text": "Share in channel"},
        "value": f"partner:{PARTNER}",
    }
    forged_modal = {**modal, "blocks": [{"type": "actions", "elements": [share]}]}
    forged = modal_click(forged_modal, views.ACTION_MODAL_SHARE, share["value"])
    client.interaction(forged)
    settle(server)
    [told] = slack.posts(hook)
    assert (
        told["response_type"] == "ephemeral" and "turned off" in told["text"] and NAME not in json.dumps(told)
    )
    assert bik.count() == 1


def test_message_shortcut_without_an_id_offers_an_input_whose_submission_runs_the_lookup(
    bot, bik, slack, logs
):
    server, client = bot
    hook = slack.new_hook()
    # The corpus message as it is: a bare partner id, which only BIK_ID_PATTERN would find.
    payload = payloads.interaction(
        "shortcut_message", channel="CALLOWED", user="U1", team=TEAM, response_url=hook
    )
    payload["callback_id"] = "lookup_message"
    client.interaction(payload)
    settle(server)
    [opened] = sent_views(slack, "views.open")
    assert opened["callback_id"] == views.CALLBACK_MESSAGE_INPUT
    assert [blk["block_id"] for blk in opened["blocks"] if blk["type"] == "input"] == [views.BLOCK_QUERIES]
    assert slack.method_calls("views.update") == [] and bik.count() == 0

    sub = submission(
        opened, {views.BLOCK_QUERIES: {views.ACTION_QUERIES: {"type": "plain_text_input", "value": PARTNER}}}
    )
    response = client.interaction(sub)
    assert response.status_code == 200
    ack = response.json()
    assert ack["response_action"] == "update" and "Looking up" in json.dumps(ack["view"])
    settle(server)
    [updated] = slack.method_calls("views.update")
    assert updated["view_id"] == sub["view"]["id"]
    modal = decoded(updated["view"])
    assert NAME in json.dumps(modal) and bik.count(PARTNER) == 1
    [audit] = lookups(logs, "message_shortcut")
    assert audit["outcome"] == "found" and audit["channel"] == "CALLOWED"
    # The message's channel and the shortcut's response_url were kept: Share still posts there.
    share = button(modal, views.ACTION_MODAL_SHARE)
    client.interaction(modal_click(modal, views.ACTION_MODAL_SHARE, share["value"]))
    settle(server)
    [posted] = slack.posts(hook)
    assert posted["response_type"] == "in_channel" and posted["blocks"][0]["text"]["text"] == NAME


@pytest.mark.parametrize(
    ("typed", "problem"),
    [("partner:", "no id after the colon"), ("a b c d e f", "6 ids"), ("bik:12x", "isn't a BIK id")],
)
def test_a_bad_query_in_the_submission_is_shown_on_the_input_and_nothing_is_looked_up(
    bot, bik, slack, typed, problem
):
    server, client = bot
    client.interaction(message_shortcut("nothing here", response_url=slack.new_hook()))
    settle(server)
    [opened] = sent_views(slack, "views.open")
    sub = submission(
        opened, {views.BLOCK_QUERIES: {views.ACTION_QUERIES: {"type": "plain_text_input", "value": typed}}}
    )
    ack = client.interaction(sub).json()
    assert ack["response_action"] == "errors" and list(ack["errors"]) == [views.BLOCK_QUERIES]
    assert problem in ack["errors"][views.BLOCK_QUERIES]
    settle(server)
    assert bik.count() == 0 and slack.method_calls("views.update") == []


@pytest.mark.parametrize(("typed", "problem"), [("bik:0", "isn't a BIK id"), ("   ", "Type a partner id")])
def test_a_bad_query_in_the_global_shortcuts_modal_is_shown_on_the_input(bot, bik, slack, typed, problem):
    server, client = bot
    client.interaction(global_shortcut())
    settle(server)
    [opened] = sent_views(slack, "views.open")
    ack = client.interaction(submission(opened, query_values(typed, "CALLOWED"))).json()
    assert ack["response_action"] == "errors" and problem in ack["errors"][views.BLOCK_QUERIES]
    settle(server)
    assert bik.count() == 0 and slack.method_calls("views.update") == []


def test_bik_unavailable_is_shown_in_the_modal_with_a_reference(bot, bik, slack, logs):
    server, client = bot
    bik.script(PARTNER, b.status(503), b.status(503), b.status(503))
    client.interaction(message_shortcut(f"partner:{PARTNER}", response_url=slack.new_hook()))
    settle(server)
    [modal] = sent_views(slack, "views.update")
    text = json.dumps(modal)
    assert "BIK is unavailable" in text and bik.count(PARTNER) == 3
    [audit] = lookups(logs, "message_shortcut")
    assert audit["outcome"] == "unavailable" and audit["bik_status"] == 503
    assert audit.get("ref") and f"(ref {audit['ref']})" in text


def test_message_shortcut_finds_dashboard_links_and_ids_matching_bik_id_pattern(start_bot, bik, slack, logs):
    server, client = start_bot(POLICY, bik_dashboard_url=DASHBOARD, bik_id_pattern=r"[a-z]{4}-[0-9]{6}")
    url = dashboard("5482638")
    text = f"customer {PARTNER}, see <{url}|their page>; not ids: abcd-12 and <{dashboard('x')}>"
    rich = [
        {"type": "text", "text": f"customer {PARTNER}, see "},
        {"type": "link", "url": url, "text": "their page"},
        {"type": "text", "text": "; not ids: abcd-12 and "},
        {"type": "link", "url": dashboard("x")},
    ]
    client.interaction(message_shortcut(text, rich=rich, response_url=slack.new_hook()))
    settle(server)
    [modal] = sent_views(slack, "views.update")
    assert NAME in json.dumps(modal) and "Meera Iyer" in json.dumps(modal)
    assert bik.count(PARTNER) == 1 and bik.count("5482638") == 1 and bik.count() == 2
    audit = lookups(logs, "message_shortcut")
    assert sorted((e["query_kind"], e["query_id"]) for e in audit) == [
        ("bik", "5482638"),
        ("partner", PARTNER),
    ]


def test_message_shortcut_looks_up_the_first_five_ids_and_counts_the_rest(bot, bik, slack):
    server, client = bot
    ids = " ".join(f"partner:nobody-{n}" for n in range(7))
    client.interaction(message_shortcut(ids, response_url=slack.new_hook()))
    settle(server)
    [modal] = sent_views(slack, "views.update")
    assert bik.count() == 5 and "2 more ids" in json.dumps(modal)


def test_message_shortcut_on_a_bot_message_without_text_reads_its_blocks(bot, bik, slack):
    """Bot messages may come without ``text`` or ``user`` (bolt-js types): the ids are in the blocks."""
    server, client = bot
    payload = message_shortcut("", response_url=slack.new_hook())
    message = payload["message"]
    for key in ("text", "user", "client_msg_id"):
        message.pop(key, None)
    message.update(bot_id="B07K1TZ6X8H", app_id="A07K2M9Q4RT", subtype="bot_message")
    link = f"Escalated: <{dashboard(BIK_ID)}|customer page>"
    message["blocks"] = [
        {"type": "section", "block_id": "q7Zr", "text": {"type": "mrkdwn", "text": link, "verbatim": False}}
    ]
    client.interaction(payload)
    settle(server)
    [modal] = sent_views(slack, "views.update")
    assert NAME in json.dumps(modal) and bik.count(BIK_ID) == 1 and bik.count() == 1


@pytest.mark.parametrize(("policy", "allowed"), [(POLICY, True), (NO_DIRECT_MESSAGES, False)])
def test_message_shortcut_in_a_direct_message_follows_the_direct_messages_rule(
    start_bot, bik, slack, policy, allowed
):
    server, client = start_bot(policy)
    payload = message_shortcut(f"partner:{PARTNER}", channel="D014R1SRSSZ", response_url=slack.new_hook())
    payload["channel"]["name"] = "directmessage"  # the DM capture of SURFACES.md §1
    client.interaction(payload)
    settle(server)
    [modal] = sent_views(slack, "views.update")
    assert (NAME in json.dumps(modal)) is allowed
    assert bik.count() == (1 if allowed else 0)


def test_message_shortcut_spends_one_lookup_per_id_of_the_clickers_budget(start_bot, bik, slack, logs):
    server, client = start_bot(POLICY, bik_rate_limit="3/minute")
    client.interaction(message_shortcut(f"partner:{PARTNER} partner:vip-7", response_url=slack.new_hook()))
    settle(server)
    client.interaction(message_shortcut(f"partner:{PARTNER} partner:vip-7", response_url=slack.new_hook()))
    settle(server)
    first, second = sent_views(slack, "views.update")
    assert NAME in json.dumps(first) and NAME not in json.dumps(second)
    assert "limit" in json.dumps(second)
    assert bik.count() == 2
    assert [e["outcome"] for e in lookups(logs, "message_shortcut")][-1] == "rate_limited"


# -- 9.2 the global shortcut ----------------------------------------------------------------------------


def open_query_modal(server: BotServer, client: Any, slack: FakeSlack) -> dict[str, Any]:
    response = client.interaction(global_shortcut())
    assert response.status_code == 200
    settle(server)
    [opened] = sent_views(slack, "views.open")
    return opened


def test_global_shortcut_opens_the_query_modal_and_its_submission_shows_the_cards(bot, bik, slack, logs):
    server, client = bot
    opened = open_query_modal(server, client, slack)
    assert opened["callback_id"] == views.CALLBACK_LOOKUP
    [queries, post_to] = [blk for blk in opened["blocks"] if blk["type"] == "input"]
    assert queries["block_id"] == views.BLOCK_QUERIES and post_to["block_id"] == views.BLOCK_POST_TO
    picker = post_to["element"]
    assert post_to["optional"] is True and picker["type"] == "conversations_select"
    assert picker["response_url_enabled"] is True and picker["default_to_current_conversation"] is True
    assert bik.count() == 0

    sub = submission(opened, query_values(f"{PARTNER} bik:5482638"))
    response = client.interaction(sub)
    ack = response.json()
    assert ack["response_action"] == "update" and "Looking up" in json.dumps(ack["view"])
    settle(server)
    [updated] = slack.method_calls("views.update")
    assert updated["view_id"] == sub["view"]["id"]
    modal = decoded(updated["view"])
    assert NAME in json.dumps(modal) and "Meera Iyer" in json.dumps(modal)
    assert PHONE in json.dumps(modal)  # [direct_messages] masks nothing
    assert bik.count() == 2
    audit = lookups(logs, "global_shortcut")
    assert sorted(e["outcome"] for e in audit) == ["found", "found"]
    assert {(e["user"], e["channel"], e["visibility"]) for e in audit} == {("U1", "", "ephemeral")}


def test_global_shortcut_follows_the_direct_messages_rule(start_bot, bik, slack, logs):
    server, client = start_bot(NO_DIRECT_MESSAGES, bik_dashboard_url=DASHBOARD)
    opened = open_query_modal(server, client, slack)
    hook = slack.new_hook()
    urls = [
        {
            "block_id": views.BLOCK_POST_TO,
            "action_id": views.ACTION_POST_TO,
            "channel_id": "CALLOWED",
            "response_url": hook,
        }
    ]
    client.interaction(submission(opened, query_values(PARTNER, "CALLOWED"), response_urls=urls))
    settle(server)
    [modal] = sent_views(slack, "views.update")
    assert "turned off in direct messages" in json.dumps(modal) and NAME not in json.dumps(modal)
    assert bik.count() == 0 and slack.posts(hook) == []
    [audit] = lookups(logs, "global_shortcut")
    assert audit["outcome"] == "denied"


def test_global_shortcut_from_a_guest_follows_the_direct_messages_rule(bot, bik, slack, logs):
    server, client = bot
    slack.guests.add("UGUEST")
    client.interaction(global_shortcut("UGUEST"))
    settle(server)
    [opened] = sent_views(slack, "views.open")
    client.interaction(submission(opened, query_values(PARTNER), user="UGUEST"))
    settle(server)
    [modal] = sent_views(slack, "views.update")
    assert "Guest accounts" in json.dumps(modal) and NAME not in json.dumps(modal)
    assert bik.count() == 0
    [audit] = lookups(logs, "global_shortcut")
    assert audit["outcome"] == "denied" and audit["reason"] == "guest"


def test_global_shortcut_masks_as_the_direct_messages_rule_says(start_bot, slack):
    policy = POLICY.replace(
        "[direct_messages]\nallow = true", '[direct_messages]\nallow = true\nmask = ["email"]'
    )
    server, client = start_bot(policy)
    opened = open_query_modal(server, client, slack)
    client.interaction(submission(opened, query_values(PARTNER)))
    settle(server)
    [modal] = sent_views(slack, "views.update")
    assert leaks(modal, {"email"}) == [] and MASKED_EMAIL in json.dumps(modal) and PHONE in json.dumps(modal)


@pytest.mark.parametrize(
    ("channel", "shared", "masked"),
    [
        ("CALLOWED", False, set()),
        ("CMASKED", False, {"phone"}),
        ("CCONNECT", True, {"phone", "email", "address"}),
    ],
)
def test_also_post_to_a_channel_posts_masked_as_that_channel_reads(bot, slack, logs, channel, shared, masked):
    server, client = bot
    if shared:
        slack.shared_channels.add(channel)
    opened = open_query_modal(server, client, slack)
    hook = slack.new_hook()
    urls = [
        {
            "block_id": views.BLOCK_POST_TO,
            "action_id": views.ACTION_POST_TO,
            "channel_id": channel,
            "response_url": hook,
        }
    ]
    ack = client.interaction(submission(opened, query_values(PARTNER, channel), response_urls=urls)).json()
    assert ack["response_action"] == "update"
    settle(server)
    [posted] = slack.posts(hook)
    assert posted["response_type"] == "in_channel" and posted["blocks"][0]["text"]["text"] == NAME
    assert leaks(posted, masked) == [] and leaks(posted["text"], masked) == []
    if masked != {"phone", "email", "address"}:
        assert leaks(posted, {"phone", "email", "address"} - masked) != []
    [modal] = sent_views(slack, "views.update")
    assert PHONE in json.dumps(modal)  # the person's own view: [direct_messages], unmasked
    assert "Posted" in json.dumps(modal)
    shares = [e for e in lookups(logs, "share") if e["outcome"] == "found"]
    assert [(e["channel"], set(e["masked"]), e["visibility"]) for e in shares] == [
        (channel, masked, "in_channel")
    ]


def test_also_post_to_with_response_urls_inside_the_view_as_in_slacks_docs(bot, slack):
    """The views payload reference nests ``response_urls`` in ``view``; Bolt's tests put it at the top
    level. SURFACES.md §2: "Read the top level, and tolerate either"."""
    server, client = bot
    opened = open_query_modal(server, client, slack)
    hook = slack.new_hook()
    urls = [
        {
            "block_id": views.BLOCK_POST_TO,
            "action_id": views.ACTION_POST_TO,
            "channel_id": "CALLOWED",
            "response_url": hook,
        }
    ]
    payload = submission(opened, query_values(PARTNER, "CALLOWED"))
    del payload["response_urls"]
    payload["view"]["response_urls"] = urls
    client.interaction(payload)
    settle(server)
    [modal] = sent_views(slack, "views.update")
    assert "Posted" in json.dumps(modal), json.dumps(modal["blocks"][-1])
    [posted] = slack.posts(hook)
    assert posted["response_type"] == "in_channel" and posted["blocks"][0]["text"]["text"] == NAME


@pytest.mark.parametrize(
    ("channel", "why"),
    [("CNOTLISTED", "isn't allowed"), ("CNOSHARE", "sharing customer cards is turned off")],
)
def test_also_post_to_a_channel_that_refuses_posts_nothing_and_says_why(bot, slack, logs, channel, why):
    server, client = bot
    opened = open_query_modal(server, client, slack)
    hook = slack.new_hook()
    urls = [
        {
            "block_id": views.BLOCK_POST_TO,
            "action_id": views.ACTION_POST_TO,
            "channel_id": channel,
            "response_url": hook,
        }
    ]
    client.interaction(submission(opened, query_values(PARTNER, channel), response_urls=urls))
    settle(server)
    assert slack.posts(hook) == []
    [modal] = sent_views(slack, "views.update")
    text = json.dumps(modal)
    assert NAME in text and "Not posted" in text and why in text
    assert [e["outcome"] for e in lookups(logs, "share")] == ["denied"]


# -- 9.3 link unfurling ---------------------------------------------------------------------------------


def test_a_dashboard_link_is_unfurled_with_a_compact_card(bot, bik, slack, logs):
    server, client = bot
    body = link_shared([dashboard(BIK_ID)])
    response = client.event(body)
    assert response.status_code == 200
    settle(server)
    [call] = slack.method_calls("chat.unfurl")
    assert call["channel"] == "CALLOWED" and call["ts"] == body["event"]["message_ts"]
    unfurls = decoded(call["unfurls"])
    assert list(unfurls) == [dashboard(BIK_ID)]
    card = json.dumps(unfurls[dashboard(BIK_ID)])
    assert NAME in card and PHONE in card and EMAIL in card and "India (IND)" in card
    assert BIK_ID in card and PARTNER in card and "bangalore" in card  # ids and the (default) address
    assert button(unfurls, cards.ACTION_OPEN)["url"] == dashboard(BIK_ID)
    assert set(action_ids(unfurls)) == {cards.ACTION_OPEN}  # no Share, Refresh or Addresses in an unfurl
    assert bik.count(BIK_ID) == 1
    [audit] = lookups(logs, "unfurl")
    assert (
        audit["outcome"] == "found" and audit["visibility"] == "in_channel" and audit["channel"] == "CALLOWED"
    )


def test_a_chat_unfurl_error_is_logged(bot, slack, logs):
    server, client = bot
    slack.fail("chat.unfurl", "cannot_unfurl_url")
    client.event(link_shared([dashboard(BIK_ID)]))
    settle(server)
    assert len(slack.method_calls("chat.unfurl")) == 1
    [failed] = logs.events("unfurl_failed")
    assert failed["level"] == "error" and failed["error"] == "cannot_unfurl_url"


@pytest.mark.parametrize(
    ("channel", "shared", "masked"),
    [("CMASKED", False, {"phone"}), ("CCONNECT", True, {"phone", "email", "address"})],
)
def test_an_unfurl_is_masked_as_the_whole_channel_reads(bot, slack, logs, channel, shared, masked):
    """The rule's mask; in a Slack Connect channel all three fields, whatever the rule says."""
    server, client = bot
    if shared:
        slack.shared_channels.add(channel)
    client.event(link_shared([dashboard(BIK_ID)], channel=channel))
    settle(server)
    [call] = slack.method_calls("chat.unfurl")
    unfurls = decoded(call["unfurls"])
    assert NAME in json.dumps(unfurls)
    assert leaks(unfurls, masked) == []
    assert leaks(unfurls, {"phone", "email", "address"} - masked) != [] or len(masked) == 3
    assert MASKED_PHONE in json.dumps(unfurls)
    [audit] = lookups(logs, "unfurl")
    assert set(audit["masked"]) == masked


@pytest.mark.parametrize(
    ("channel", "user", "reason"),
    [
        ("CONCALL", "U1", "user_not_allowed"),  # the poster isn't allowed there
        ("CNOTLISTED", "U1", "channel_not_allowed"),
        ("CNOUNFURL", "U1", "unfurl_off"),  # unfurl = false
        ("CNOSHARE", "U1", "unfurl_off"),  # the default: the channel may not read cards
    ],
)
def test_no_unfurl_where_the_rule_does_not_allow_it(bot, bik, slack, logs, channel, user, reason):
    server, client = bot
    assert client.event(link_shared([dashboard(BIK_ID)], channel=channel, user=user)).status_code == 200
    settle(server)
    assert slack.method_calls("chat.unfurl") == [] and bik.count() == 0
    [audit] = lookups(logs, "unfurl")
    assert audit["outcome"] == "denied" and audit["reason"] == reason


@pytest.mark.parametrize("key", ["channel", "channel_id"])
def test_no_unfurl_from_the_composer(bot, bik, slack, logs, key):
    """The corpus' composer event as it is (and with the unfurling guide's ``channel_id`` key)."""
    server, client = bot
    body = replaced(payloads.load("event_callback_link_shared"), {"T04ASJ0NWLW": TEAM, "U05B7LKQ2PX": "U1"})
    body["event"]["links"] = [{"domain": "bik-dashboard.example.com", "url": dashboard(BIK_ID)}]
    if key == "channel_id":
        body["event"]["channel_id"] = body["event"].pop("channel")
    assert client.event(body).status_code == 200
    settle(server)
    assert slack.method_calls("chat.unfurl") == [] and bik.count() == 0
    [audit] = lookups(logs, "unfurl")
    assert audit["outcome"] == "denied" and audit["reason"] == "composer"


def test_links_that_are_not_dashboard_links_are_left_alone(bot, bik, slack, logs):
    server, client = bot
    others = [
        "https://example.com/customers/5482636",
        "https://bik-dashboard.example.com/orders/5482636",
        "https://bik-dashboard.example.com/customers/abc",
    ]
    client.event(link_shared(others))
    settle(server)
    assert slack.method_calls("chat.unfurl") == [] and bik.count() == 0 and lookups(logs, "unfurl") == []


def test_at_most_three_links_of_a_message_are_unfurled(bot, bik, slack, logs):
    server, client = bot
    urls = [dashboard(i) for i in ("5482636", "5482637", "5482638", "5482640", "5482641")]
    client.event(link_shared(urls))
    settle(server)
    [call] = slack.method_calls("chat.unfurl")
    assert list(decoded(call["unfurls"])) == urls[:3]
    assert bik.count() == 3 and len(lookups(logs, "unfurl")) == 3


# -- 9.4 the App Home -----------------------------------------------------------------------------------


def published(slack: FakeSlack, user: str = "U1") -> dict[str, Any]:
    [call] = slack.method_calls("views.publish")
    assert call["user_id"] == user
    return dict(decoded(call["view"]))


def test_app_home_shows_the_lookup_button_the_channels_and_recent_ids_only(bot, slack):
    server, client = bot
    for text in (PARTNER, "vip-7", "nobody-here"):
        client.command(text, response_url=slack.new_hook())
    client.interaction(message_shortcut("bik:5482637", response_url=slack.new_hook()))
    settle(server)
    assert client.event(home_opened()).status_code == 200
    settle(server)
    home = published(slack)
    text = json.dumps(home)
    assert home["type"] == "home" and views.ACTION_HOME_LOOKUP in action_ids(home)
    for channel in ("CALLOWED", "CMASKED", "CCONNECT", "CNOSHARE", "CGUESTS", "CNOUNFURL"):
        assert f"<#{channel}>" in text
    assert "<#CONCALL>" not in text and "Direct messages" in text
    assert "Your recent lookups" in text and "no customer" in text and "found" in text
    recent = [btn["value"] for btn in buttons(home) if btn["action_id"] == views.ACTION_RECENT]
    assert recent == ["bik:5482637", "partner:nobody-here", "partner:vip-7", f"partner:{PARTNER}"]
    # ids only: no customer data, whatever was found
    for data in (
        NAME,
        "Test",
        "Meera",
        "Iyer",
        "Asha",
        PHONE,
        "9090909090",
        EMAIL,
        "meera.iyer",
        "bangalore",
    ):
        assert data not in text, data


def test_app_home_lists_only_the_channels_that_allow_a_guest(bot, slack):
    server, client = bot
    slack.guests.add("UGUEST")
    client.event(home_opened("UGUEST"))
    settle(server)
    text = json.dumps(published(slack, "UGUEST"))
    assert "<#CGUESTS>" in text and "<#CALLOWED>" not in text and "Direct messages" not in text
    assert views.ACTION_HOME_LOOKUP not in text  # [direct_messages] does not allow guests


def test_app_home_lists_a_refused_lookup_with_its_outcome(bot, bik, slack):
    """Recent lookups hold "the query, the outcome and when" on every surface (SPEC 9.4); bot/recent.py
    and bot/views.py (outcome "denied" -> "not allowed") are written for refused lookups too."""
    server, client = bot
    client.command("partner:refused-1", channel="CNOTLISTED", response_url=slack.new_hook())
    client.command(PARTNER, response_url=slack.new_hook())
    client.event(home_opened())
    settle(server)
    text = json.dumps(published(slack))
    assert f"partner:{PARTNER}" in text
    assert "partner:refused-1" in text and "not allowed" in text
    assert bik.count() == 1


def test_app_home_without_direct_messages_offers_no_lookup(start_bot, slack):
    server, client = start_bot(NO_DIRECT_MESSAGES)
    client.command(PARTNER, response_url=slack.new_hook())
    client.event(home_opened())
    settle(server)
    home = published(slack)
    assert action_ids(home) == []  # neither the lookup button nor Show (both run under [direct_messages])
    assert "Direct messages" not in json.dumps(home) and f"partner:{PARTNER}" in json.dumps(home)


def test_app_home_with_recent_lookups_off_has_no_recent_section(start_bot, slack):
    server, client = start_bot(POLICY, bik_recent_lookups=0)
    client.command(PARTNER, response_url=slack.new_hook())
    client.event(home_opened())
    settle(server)
    home = published(slack)
    assert "recent" not in json.dumps(home).lower() and views.ACTION_RECENT not in action_ids(home)
    assert views.ACTION_HOME_LOOKUP in action_ids(home)


def test_app_home_where_defaults_allow_says_every_channel_and_lists_the_exceptions(start_bot, slack):
    policy = "[defaults]\nallow = true\n\n[channels.CDENIED]\nallow = false\n"
    server, client = start_bot(policy)
    client.event(home_opened())
    settle(server)
    text = json.dumps(published(slack))
    assert "Every channel except <#CDENIED>" in text and "Direct messages" in text


def test_home_lookup_button_opens_the_query_modal(bot, slack):
    server, client = bot
    client.interaction(home_click(views.ACTION_HOME_LOOKUP))
    settle(server)
    [opened] = sent_views(slack, "views.open")
    assert opened["callback_id"] == views.CALLBACK_LOOKUP
    assert views.metadata(s="home") == opened["private_metadata"]


def test_a_recent_lookups_button_opens_its_result_in_a_modal(bot, bik, slack, logs):
    server, client = bot
    client.command(PARTNER, channel="CMASKED", response_url=slack.new_hook())
    client.event(home_opened())
    settle(server)
    value = button(published(slack), views.ACTION_RECENT)["value"]
    assert value == f"partner:{PARTNER}"
    response = client.interaction(home_click(views.ACTION_RECENT, value))
    assert response.status_code == 200
    settle(server)
    assert "Looking up" in json.dumps(sent_views(slack, "views.open")[0])
    [modal] = sent_views(slack, "views.update")
    assert NAME in json.dumps(modal) and PHONE in json.dumps(modal)  # [direct_messages]: unmasked
    assert bik.count() == 2
    [audit] = lookups(logs, "home")
    assert audit["outcome"] == "found" and audit["channel"] == ""


@pytest.mark.redis
def test_recent_lookups_are_shared_by_two_bots_through_redis(start_bot, slack, redis_url):
    user = "U" + uuid.uuid4().hex[:10].upper()  # the Redis lives for the whole session
    first, first_client = start_bot(POLICY, redis_url=redis_url, bik_recent_lookups=5)
    second, second_client = start_bot(POLICY, redis_url=redis_url, bik_recent_lookups=5)
    card = first_client.command(PARTNER, user=user, response_url=slack.new_hook()).json()
    assert card["blocks"][0]["text"]["text"] == NAME
    settle(first)
    second_client.event(home_opened(user))
    settle(second)
    home = published(slack, user)
    assert [btn["value"] for btn in buttons(home) if btn["action_id"] == views.ACTION_RECENT] == [
        f"partner:{PARTNER}"
    ]
    assert "/bik-customer" in json.dumps(home) and NAME not in json.dumps(home)


# -- Refresh and Try again (SPEC 4) ---------------------------------------------------------------------


def test_refresh_fetches_again_and_replaces_the_card_through_the_clicks_response_url(bot, bik, slack, logs):
    server, client = bot
    card = client.command(PARTNER, response_url=slack.new_hook()).json()
    refresh = button(card, cards.ACTION_REFRESH)
    hook = slack.new_hook()
    assert client.action(cards.ACTION_REFRESH, refresh["value"], response_url=hook).status_code == 200
    settle(server)
    [posted] = slack.posts(hook)
    assert posted["replace_original"] is True and posted["blocks"][0]["text"]["text"] == NAME
    assert button(posted, cards.ACTION_REFRESH)["value"] == refresh["value"]
    assert bik.count(PARTNER) == 2
    [audit] = lookups(logs, "refresh")
    assert audit["outcome"] == "found" and audit["channel"] == "CALLOWED"


def test_refresh_after_the_policy_changed_is_refused_and_replaces_nothing(bot, bik, slack, logs, tmp_path):
    server, client = bot
    card = client.command(PARTNER, response_url=slack.new_hook()).json()
    refresh = button(card, cards.ACTION_REFRESH)
    changed = tmp_path / "changed.toml"
    changed.write_text(
        POLICY.replace("[channels.CALLOWED]\nallow = true", "[channels.CALLOWED]\nallow = false")
    )
    server.bot.service.policy = Policy.load(changed)
    hook = slack.new_hook()
    client.action(cards.ACTION_REFRESH, refresh["value"], response_url=hook)
    settle(server)
    [told] = slack.posts(hook)
    assert told["replace_original"] is False and "isn't allowed" in told["text"]
    assert NAME not in json.dumps(told)
    assert bik.count() == 1
    [audit] = lookups(logs, "refresh")
    assert audit["outcome"] == "denied" and audit["policy_version"] == server.bot.service.policy.version


def test_refresh_of_a_card_the_whole_channel_reads_is_masked_as_the_channel_reads(bot, slack):
    """An in-channel card (``block_actions_in_channel``) in a Slack Connect channel: all three masked."""
    server, client = bot
    slack.shared_channels.add("CCONNECT")
    hook = slack.new_hook()
    click = payloads.interaction(
        "block_actions_in_channel",
        action_id=cards.ACTION_REFRESH,
        value=f"partner:{PARTNER}",
        channel="CCONNECT",
        user="U1",
        team=TEAM,
        response_url=hook,
        api_app_id=APP,
    )
    client.interaction(click)
    settle(server)
    [posted] = slack.posts(hook)
    assert posted["replace_original"] is True and posted["blocks"][0]["text"]["text"] == NAME
    assert leaks(posted, {"phone", "email", "address"}) == []


def test_try_again_on_an_unavailable_error_runs_the_lookup_again(bot, bik, slack, logs):
    server, client = bot
    bik.script(PARTNER, b.status(503), b.status(503), b.status(503))
    first = slack.new_hook()
    reply = final_reply(client.command(PARTNER, response_url=first), first, slack)
    assert "BIK is unavailable" in json.dumps(reply)
    again = button(reply, cards.ACTION_RETRY)
    hook = slack.new_hook()
    client.action(cards.ACTION_RETRY, again["value"], response_url=hook)
    settle(server)
    [posted] = slack.posts(hook)
    assert posted["replace_original"] is True and posted["blocks"][0]["text"]["text"] == NAME
    assert bik.count(PARTNER) == 4
    [audit] = lookups(logs, "retry")
    assert audit["outcome"] == "found"


# -- Socket Mode: the same surfaces through a real `python -m bot serve` ---------------------------------

_SOCKET: dict[str, Any] = {}


@pytest.fixture(scope="module")
def socket_bot(
    bik: FakeBik, slack: FakeSlack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    """One bot process in Socket Mode for the module, configured through its environment."""
    workdir = tmp_path_factory.mktemp("socket-surfaces")
    slack.reset()
    env = stand_in_env(
        bik,
        slack,
        workdir,
        policy=POLICY,
        SLACK_APP_TOKEN="xapp-1-test-token-0000",
        BIK_DASHBOARD_URL=DASHBOARD,
        BIK_RATE_LIMIT="1000/minute",
    )
    process = BotProcess(env, cwd=workdir)
    try:
        process.launch()
        _SOCKET["ws"] = wait_for(lambda: slack.sockets, timeout=20)[-1]
        yield process
    finally:
        _SOCKET.clear()
        process.kill()


@pytest.fixture
def socket_mode(socket_bot: BotProcess, slack: FakeSlack, _fresh_fakes: None) -> Iterator[BotProcess]:
    """The module's process, its connection registered again after the per-test reset of the stand-in."""
    ws: web.WebSocketResponse = _SOCKET["ws"]
    if not slack.sockets and not ws.closed:
        slack.sockets.append(ws)
    yield socket_bot
    if slack.sockets:
        _SOCKET["ws"] = slack.sockets[-1]


def acked(slack: FakeSlack, process: BotProcess, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    assert process.proc is not None and process.proc.poll() is None, process.logs()[-2000:]
    envelope = slack.send_envelope(kind, payload)
    return dict(wait_for(lambda: slack.ack_for(envelope), timeout=5))


def process_lookups(process: BotProcess, surface: str) -> list[dict[str, Any]]:
    out = []
    for line in process.logs().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") == "lookup" and event.get("surface") == surface:
            out.append(event)
    return out


def test_socket_mode_message_shortcut(socket_mode, bik, slack):
    ack = acked(
        slack,
        socket_mode,
        "interactive",
        message_shortcut(f"partner:{PARTNER}", response_url=slack.new_hook()),
    )
    assert not ack.get("payload")
    [modal] = wait_for(lambda: sent_views(slack, "views.update"))
    assert NAME in json.dumps(modal) and len(slack.method_calls("views.open")) == 1
    assert bik.count(PARTNER) == 1
    wait_for(lambda: process_lookups(socket_mode, "message_shortcut"))


def test_socket_mode_global_shortcut_and_its_submission(socket_mode, bik, slack):
    acked(slack, socket_mode, "interactive", global_shortcut())
    [opened] = wait_for(lambda: sent_views(slack, "views.open"))
    assert opened["callback_id"] == views.CALLBACK_LOOKUP
    hook = slack.new_hook()
    urls = [
        {
            "block_id": views.BLOCK_POST_TO,
            "action_id": views.ACTION_POST_TO,
            "channel_id": "CALLOWED",
            "response_url": hook,
        }
    ]
    ack = acked(
        slack,
        socket_mode,
        "interactive",
        submission(opened, query_values(PARTNER, "CALLOWED"), response_urls=urls),
    )
    assert ack["payload"]["response_action"] == "update"
    [modal] = wait_for(lambda: sent_views(slack, "views.update"))
    assert NAME in json.dumps(modal)
    [posted] = wait_for(lambda: slack.posts(hook))
    assert posted["response_type"] == "in_channel" and posted["blocks"][0]["text"]["text"] == NAME
    wait_for(lambda: process_lookups(socket_mode, "global_shortcut"))


def test_socket_mode_link_shared(socket_mode, bik, slack):
    body = link_shared([dashboard(BIK_ID)])
    ack = acked(slack, socket_mode, "events_api", body)
    assert not ack.get("payload")
    [call] = wait_for(lambda: slack.method_calls("chat.unfurl"))
    assert call["channel"] == "CALLOWED" and NAME in json.dumps(decoded(call["unfurls"]))
    wait_for(lambda: process_lookups(socket_mode, "unfurl"))
