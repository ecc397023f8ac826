from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import cards, views
from bot.bik.errors import NotFound, Rejected, Unavailable
from bot.bik.models import Customer
from bot.cards import Failed, Found, View
from bot.masking import mask_customer
from bot.query import Kind, Query
from bot.recent import Recent
from bot.sandbox import CUSTOMERS
from bot.views import Places, RecentItem
from tests.blockkit import attachment_problems, texts, view_problems

Q = Query(Kind.PARTNER, "abcd-122345")
VIEW = View(requester_id="U1", share_button=True)
EXAMPLE, MANY, VIP, SPARSE, HOSTILE = (Customer.model_validate(c) for c in CUSTOMERS[:5])
AT = 1723195975.0  # 2024-08-09 09:32:55 UTC


def valid(view):
    """Our limits and escaping rules, and slack_sdk's models: nothing to say about it."""
    assert view_problems(view) == []
    assert len(view["blocks"]) <= 100
    return view


def all_text(payload):
    return "\n".join(t for _, t in texts(payload))


def elements(view):
    """Every interactive element: actions' elements, accessories and input elements."""
    out = []
    for block in view["blocks"]:
        out += block.get("elements", []) if block["type"] == "actions" else []
        out += [block["accessory"]] if "accessory" in block else []
        out += [block["element"]] if block["type"] == "input" else []
    return out


def action_ids(view):
    return [e.get("action_id") for e in elements(view)]


# -- identifiers -----------------------------------------------------------------------------------


def test_the_ids_handlers_register_on_are_stable():
    assert (views.CALLBACK_LOOKUP, views.CALLBACK_MESSAGE_INPUT, views.CALLBACK_RESULTS) == (
        "bik_lookup",
        "bik_message_input",
        "bik_results",
    )
    assert (views.BLOCK_QUERIES, views.ACTION_QUERIES, views.BLOCK_POST_TO, views.ACTION_POST_TO) == (
        "queries",
        "queries_input",
        "post_to",
        "post_to_select",
    )
    assert (views.ACTION_HOME_LOOKUP, views.ACTION_RECENT, views.ACTION_MODAL_SHARE) == (
        "home_lookup",
        "home_recent",
        "modal_share",
    )


# -- private metadata --------------------------------------------------------------------------------


def test_metadata_round_trips_compactly():
    text = views.metadata(channel="C123", response_url="https://hooks.slack.com/app/T1/2/x")
    assert text == '{"channel":"C123","response_url":"https://hooks.slack.com/app/T1/2/x"}'
    assert views.read_metadata(text) == {
        "channel": "C123",
        "response_url": "https://hooks.slack.com/app/T1/2/x",
    }
    assert views.metadata() == "{}" and views.read_metadata("{}") == {}


def test_metadata_over_slack_limit_or_not_a_string_is_refused_when_built():
    with pytest.raises(ValueError, match="3000"):
        views.metadata(url="x" * 3000)
    with pytest.raises(ValueError, match="not a string"):
        views.metadata(channel=None)  # type: ignore[arg-type]
    assert len(views.metadata(url="x" * 2980)) <= 3000


@pytest.mark.parametrize(
    "text",
    [None, "", "not json", "[1, 2]", '"a string"', "42", "{", '{"a": 1}', "x" * 3001, 17, b"{}"],
)
def test_reading_bad_metadata_gives_nothing_and_never_raises(text):
    assert views.read_metadata(text) == {}


def test_reading_metadata_keeps_only_string_pairs():
    assert views.read_metadata('{"a": "1", "b": 2, "c": null, "d": ["x"], "e": "ok"}') == {
        "a": "1",
        "e": "ok",
    }


@given(st.text(max_size=4000))
@settings(max_examples=200, deadline=None)
def test_reading_any_text_never_raises(text):
    assert isinstance(views.read_metadata(text), dict)


@given(st.dictionaries(st.text(max_size=30), st.text(max_size=200), max_size=10))
@settings(max_examples=100, deadline=None)
def test_any_metadata_that_builds_reads_back_the_same(values):
    try:
        text = views.metadata(**values)
    except ValueError:
        return
    assert len(text) <= 3000
    assert views.read_metadata(text) == values


# -- loading modal -------------------------------------------------------------------------------------


def test_loading_modal_says_it_is_looking_in_plain_text():
    modal = valid(views.loading_modal("BIK customer", "Looking up <!channel> partner:abc…"))
    assert modal["type"] == "modal" and modal["callback_id"] == views.CALLBACK_RESULTS
    assert modal["title"]["text"] == "BIK customer" and modal["close"]["text"] == "Close"
    assert "submit" not in modal and "private_metadata" not in modal
    [block] = modal["blocks"]
    assert block["text"] == {
        "type": "plain_text",
        "text": "Looking up <!channel> partner:abc…",
        "emoji": True,
    }
    default = views.loading_modal("BIK customer", "")["blocks"][0]["text"]["text"]
    assert default == ":mag: Looking up…"


def test_loading_modal_carries_metadata_and_cuts_a_long_title():
    meta = views.metadata(channel="C1")
    modal = valid(
        views.loading_modal("A title far longer than Slack allows", "x" * 5000, private_metadata=meta)
    )
    assert len(modal["title"]["text"]) == 24 and modal["title"]["text"].endswith("…")
    assert modal["private_metadata"] == meta
    assert views.loading_modal("   ", "")["title"]["text"] == "BIK customer"


def test_views_refuse_metadata_or_callback_ids_over_slack_limits():
    with pytest.raises(ValueError, match="private_metadata"):
        views.loading_modal("t", "x", private_metadata="x" * 3001)
    with pytest.raises(ValueError, match="callback_id"):
        views.query_modal(callback_id="c" * 256)
    with pytest.raises(ValueError, match="private_metadata"):
        views.results_modal([], VIEW, private_metadata="x" * 3001)


# -- results modal ---------------------------------------------------------------------------------------


def test_results_modal_shows_the_card_with_a_modal_share_button_instead_of_the_message_one():
    modal = valid(views.results_modal([Found(Q, EXAMPLE)], VIEW, share=True))
    assert modal["callback_id"] == views.CALLBACK_RESULTS and modal["title"]["text"] == "BIK customer"
    assert modal["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Test Last", "emoji": False},
    }
    ids = action_ids(modal)
    assert cards.ACTION_SHARE not in ids
    [share] = [e for e in elements(modal) if e.get("action_id") == views.ACTION_MODAL_SHARE]
    assert share["value"] == "partner:abcd-122345" and share["text"]["text"] == "Share in channel"


def test_a_modal_keeps_only_the_buttons_that_work_without_a_message():
    """Share, Refresh and Try again act on their message through its response_url: a click in a
    modal has none. Show all addresses and Open in BIK work anywhere."""
    view = View(requester_id="U1", share_button=True, dashboard_url="https://bik.example/c/{bik_id}")
    results = [Found(Q, MANY), Failed(Query(Kind.BIK, "12"), Unavailable(), ref="7f3a2c1e")]
    modal = valid(views.results_modal(results, view, share=True))
    assert set(action_ids(modal)) == {cards.ACTION_ADDRESSES, cards.ACTION_OPEN, views.ACTION_MODAL_SHARE}
    assert [b["type"] for b in modal["blocks"]].count("actions") == 1


def test_results_modal_without_share_has_no_share_button_of_either_kind():
    modal = valid(views.results_modal([Found(Q, EXAMPLE)], VIEW))
    assert views.ACTION_MODAL_SHARE not in action_ids(modal)
    assert cards.ACTION_SHARE not in action_ids(modal)


def test_modal_share_carries_the_bik_id_when_the_query_would_show_a_masked_value():
    phone = Query(Kind.PARTNER, "+919090909090")
    masked = View(requester_id="U1", masked=frozenset({"phone"}))
    customer = mask_customer(EXAMPLE, masked.masked)
    modal = valid(views.results_modal([Found(phone, customer)], masked, share=True))
    [share] = [e for e in elements(modal) if e.get("action_id") == views.ACTION_MODAL_SHARE]
    assert share["value"] == "bik:5482636"
    assert "+919090909090" not in json.dumps(modal)
    assert ":lock: phone masked here" in all_text(modal)


def test_no_modal_share_button_when_nothing_can_be_carried():
    phone = Query(Kind.PARTNER, "+919090909090")
    masked = View(requester_id="U1", masked=frozenset({"phone"}))
    customer = Customer.model_validate({"partnerCustomerId": "+919090909090", "firstName": "No id"})
    modal = valid(
        views.results_modal([Found(phone, mask_customer(customer, masked.masked))], masked, share=True)
    )
    assert views.ACTION_MODAL_SHARE not in action_ids(modal)


def test_results_modal_lists_errors_more_ids_and_the_note():
    results = [
        Found(Q, EXAMPLE),
        Failed(Query(Kind.PARTNER, "missing"), NotFound()),
        Failed(Query(Kind.BIK, "12"), Unavailable(), ref="7f3a2c1e"),
    ]
    modal = valid(views.results_modal(results, VIEW, more=3, note="Posted to <#C0123ABC>."))
    text = all_text(modal)
    assert "No customer with partner id `missing`" in text
    assert "(ref 7f3a2c1e)" in text
    assert "3 more ids in the message were not looked up" in text
    assert modal["blocks"][-1] == {"type": "context", "elements": [cards.mrkdwn("Posted to <#C0123ABC>.")]}
    assert sum(b["type"] == "divider" for b in modal["blocks"]) == 2
    one_more = views.results_modal([Found(Q, EXAMPLE)], VIEW, more=1)
    assert "1 more id in the message was not looked up" in all_text(one_more)


def test_bik_message_is_shown_only_to_the_asker_alone_unmasked():
    failed = Failed(Q, Rejected("bad <id> & such"))
    mine = valid(views.results_modal([failed], VIEW))
    assert "“bad &lt;id&gt; &amp; such”" in all_text(mine)
    masked = valid(views.results_modal([failed], View(requester_id="U1", masked=frozenset({"email"}))))
    assert "bad" not in all_text(masked)


def test_a_single_card_in_a_modal_shows_more_addresses_than_a_message():
    modal = valid(views.results_modal([Found(Q, MANY)], VIEW))
    sections = [b["text"]["text"] for b in modal["blocks"] if b["type"] == "section" and "text" in b]
    assert sections[0].startswith("*Default address*\n42 MG Road")
    assert sum(s.startswith(("*Default address*", "*Address ")) for s in sections) == 10
    assert "+ 50 more addresses" in all_text(modal)
    assert cards.ACTION_ADDRESSES in action_ids(modal)


def test_sixty_results_fit_in_a_hundred_blocks_and_say_how_many_are_not_shown():
    results = []
    for i in range(60):
        query = Query(Kind.PARTNER, f"id-{i}")
        results.append(Found(query, MANY) if i % 2 else Failed(query, NotFound()))
    modal = valid(views.results_modal(results, VIEW, share=True, more=55, note="note"))
    text = all_text(modal)
    shown = sum(b["type"] == "header" for b in modal["blocks"]) + text.count(":mag:")
    assert f"{60 - shown} more results not shown here: look them up with `/bik-customer`." in text
    assert 0 < shown < 60
    assert modal["blocks"][-1]["elements"][0]["text"] == "note"  # the tail is never cut off


def test_enormous_and_hostile_values_stay_inside_every_limit():
    long_id = "x" * 500
    record = dict(
        CUSTOMERS[1],
        partnerCustomerId=long_id,
        firstName="N" * 500,
        email="&" * 5000,
        tags=["<!here>"] * 50,
        assets=[{"assetName": "EMAIL", "assetValue": f"<@U1>{i}@x.io"} for i in range(50)],
    )
    big = Customer.model_validate(record)
    results = [Found(Query(Kind.PARTNER, long_id + str(i)), big) for i in range(5)]
    results += [Found(Q, HOSTILE), Failed(Query(Kind.PARTNER, long_id), Rejected("<!channel>" * 300))]
    dashboard = View(requester_id="U1", dashboard_url="https://bik.example/c/{bik_id}")
    modal = valid(views.results_modal(results, dashboard, share=True, title="T" * 500, more=10**6))
    assert len(modal["title"]["text"]) <= 24
    for element in elements(modal):
        assert len(element.get("value", "")) <= 2000


def test_an_empty_results_modal_is_still_a_valid_view():
    modal = valid(views.results_modal([], VIEW))
    assert modal["blocks"][0]["text"]["text"] == "Nothing to show."


# -- query modal -------------------------------------------------------------------------------------------


def test_lookup_modal_asks_for_queries_and_offers_a_channel_to_post_to():
    modal = valid(views.query_modal(private_metadata=views.metadata(origin="shortcut")))
    assert modal["callback_id"] == views.CALLBACK_LOOKUP
    assert modal["title"]["text"] == "Look up a customer"
    assert (modal["submit"]["text"], modal["close"]["text"]) == ("Look up", "Cancel")
    queries, post_to = modal["blocks"]
    assert queries["type"] == "input" and queries["block_id"] == views.BLOCK_QUERIES
    assert queries["element"]["type"] == "plain_text_input"
    assert queries["element"]["action_id"] == views.ACTION_QUERIES
    assert queries["element"]["max_length"] == 1000
    assert "bik:" in queries["element"]["placeholder"]["text"]
    assert "initial_value" not in queries["element"]
    assert post_to["type"] == "input" and post_to["block_id"] == views.BLOCK_POST_TO
    assert post_to["optional"] is True and post_to["label"]["text"] == "Also post to"
    assert post_to["element"] == {
        "type": "conversations_select",
        "action_id": views.ACTION_POST_TO,
        "placeholder": post_to["element"]["placeholder"],
        "response_url_enabled": True,
        "default_to_current_conversation": True,
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    assert "everyone in the channel" in post_to["hint"]["text"]


def test_response_url_enabled_only_on_one_select_inside_an_input_block_of_a_modal():
    """Slack honours response_url_enabled only for a menu in an input block of a modal, and hands
    back the first one's response_url: exactly one such select, never in a Home view."""
    modal = views.query_modal()
    assert modal["type"] == "modal"
    enabled = [b for b in modal["blocks"] if b.get("element", {}).get("response_url_enabled")]
    assert [b["type"] for b in enabled] == ["input"]
    home = views.home_view(
        can_look_up=True, places=Places(True, (), (), True), recent=[], recent_enabled=True
    )
    assert "response_url_enabled" not in json.dumps(home)


def test_message_input_modal_says_no_id_was_found_and_has_no_channel_picker():
    modal = valid(views.query_modal(callback_id=views.CALLBACK_MESSAGE_INPUT, initial="bik:5482636"))
    assert modal["callback_id"] == views.CALLBACK_MESSAGE_INPUT
    intro, queries = modal["blocks"]
    assert intro["text"]["type"] == "plain_text" and "No customer id found" in intro["text"]["text"]
    assert queries["element"]["initial_value"] == "bik:5482636"
    assert views.BLOCK_POST_TO not in json.dumps(modal)
    forced = views.query_modal(callback_id=views.CALLBACK_MESSAGE_INPUT, channel_picker=True, intro="Hi")
    assert [b.get("block_id") for b in forced["blocks"]][1:] == [views.BLOCK_QUERIES, views.BLOCK_POST_TO]
    assert forced["blocks"][0]["text"]["text"] == "Hi"


def test_query_modal_without_a_picker_or_intro():
    modal = valid(views.query_modal(channel_picker=False))
    assert [b["block_id"] for b in modal["blocks"]] == [views.BLOCK_QUERIES]


def test_query_modal_inputs_stay_inside_limits_whatever_they_are_given():
    modal = valid(views.query_modal(initial="<!channel>\n" * 500, title="x" * 100, intro="<@U1> " * 1000))
    element = modal["blocks"][1]["element"]
    assert len(element["initial_value"]) <= element["max_length"] == 1000
    assert "\n" not in element["initial_value"]
    assert len(modal["title"]["text"]) == 24


# -- App Home ------------------------------------------------------------------------------------------------


def home(**overrides):
    arguments = {
        "can_look_up": True,
        "places": Places(
            everywhere=False, channels=("C0123ABC", "G999"), except_channels=(), direct_messages=True
        ),
        "recent": [RecentItem("partner:abcd-122345", "found", "command", AT)],
        "recent_enabled": True,
    }
    return valid(views.home_view(**{**arguments, **overrides}))


def test_home_has_a_header_a_lookup_button_places_and_recent_lookups():
    view = home()
    assert view["type"] == "home" and "title" not in view and "close" not in view
    assert view["blocks"][0]["type"] == "header"
    [lookup] = [e for e in elements(view) if e["action_id"] == views.ACTION_HOME_LOOKUP]
    assert lookup["text"]["text"] == "Look up a customer"
    text = all_text(view)
    assert "*Where you can use /bik-customer*\n• <#C0123ABC>, <#G999>\n• Direct messages" in text
    [line] = [b for b in view["blocks"] if b.get("accessory", {}).get("action_id") == views.ACTION_RECENT]
    assert line["text"]["text"] == (
        "`partner:abcd-122345` · found · "
        "<!date^1723195975^{date_short_pretty} {time}|2024-08-09 09:32 UTC> · via /bik-customer"
    )
    assert line["accessory"]["value"] == "partner:abcd-122345"
    assert line["accessory"]["text"]["text"] == "Show"


def test_home_without_lookup_rights_has_no_buttons_but_still_shows_places_and_history():
    view = home(can_look_up=False)
    assert elements(view) == []
    assert "partner:abcd-122345" in all_text(view)


def test_home_hides_recent_lookups_when_they_are_turned_off():
    view = home(recent_enabled=False)
    assert "recent lookups" not in all_text(view) and views.ACTION_RECENT not in action_ids(view)


def test_home_says_when_there_are_no_lookups_yet():
    assert "No lookups yet." in all_text(home(recent=[]))


def test_home_accepts_the_recent_store_entries():
    view = home(recent=[Recent("bik:5482636", "not_found", "message_shortcut", AT)])
    assert "`bik:5482636` · no customer · " in all_text(view)
    assert "via message shortcut" in all_text(view)


@pytest.mark.parametrize(
    ("outcome", "words"),
    [
        ("found", "found"),
        ("not_found", "no customer"),
        ("denied", "not allowed"),
        ("invalid", "invalid"),
        ("rate_limited", "rate limited"),
        ("timeout", "failed (timeout)"),
        ("unavailable", "failed (unavailable)"),
        ("<!here>", "failed (&lt;!here&gt;)"),
    ],
)
def test_outcomes_in_words(outcome, words):
    assert views.outcome_words(outcome) == words


@pytest.mark.parametrize(
    ("places", "expected"),
    [
        (Places(True, (), (), False), "• Every channel"),
        (
            Places(True, (), ("C1AB", "C2CD"), True),
            "• Every channel except <#C1AB>, <#C2CD>\n• Direct messages",
        ),
        (Places(False, (), (), False), "Nowhere yet — ask an admin to allow you in a channel."),
        (Places(False, (), (), True), "• Direct messages"),
        (Places(False, ("general", "<!channel>", "C1"), (), False), "• `general`, `&lt;!channel&gt;`, `C1`"),
        (Places(False, ("C1AB", "C1AB"), (), False), "• <#C1AB>"),
    ],
)
def test_where_the_command_works(places, expected):
    view = home(places=places)
    assert f"*Where you can use /bik-customer*\n{expected}" in all_text(view)


def test_a_thousand_channels_and_a_hundred_recent_lookups_fit():
    channels = tuple(f"C{i:08d}" for i in range(1000))
    recent = [RecentItem(f"partner:{'p' * 500}{i}", "timeout", "unfurl", AT + i) for i in range(100)]
    view = home(places=Places(False, channels, (), True), recent=recent)
    places = next(
        b["text"]["text"] for b in view["blocks"] if "Where you can use" in b.get("text", {}).get("text", "")
    )
    assert len(places) <= 3000 and places.endswith("more\n• Direct messages")
    assert "<#C00000000>" in places
    assert sum("accessory" in b for b in view["blocks"]) == views.MAX_RECENT_SHOWN
    assert "50 older lookups not shown." in all_text(view)
    everywhere = home(places=Places(True, (), channels, False), recent=recent)
    assert "Every channel except <#C00000000>" in all_text(everywhere)


def test_recent_lookups_with_odd_values_stay_valid():
    recent = [
        RecentItem("", "found", "command", AT),
        RecentItem("partner:`tick`", "denied", "home", float("nan")),
        RecentItem("partner:<!channel>", "x" * 500, "<@U1>" * 50, -5),
        RecentItem("q" * 3000, "found", "command", 1e20),
    ]
    view = home(recent=recent)
    buttons = [b["accessory"] for b in view["blocks"] if "accessory" in b]
    assert [b["value"] for b in buttons] == ["partner:`tick`", "partner:<!channel>"]
    assert "“partner:`tick`”" in all_text(view)


@given(
    st.lists(
        st.builds(RecentItem, st.text(max_size=300), st.text(max_size=60), st.text(max_size=60), st.floats()),
        max_size=120,
    ),
    st.lists(st.text(max_size=40), max_size=300),
    st.booleans(),
    st.booleans(),
)
@settings(max_examples=40, deadline=None)
def test_any_home_is_a_valid_view(recent, channels, everywhere, can_look_up):
    places = Places(everywhere, tuple(channels), tuple(reversed(channels)), not everywhere)
    view = views.home_view(can_look_up=can_look_up, places=places, recent=recent, recent_enabled=True)
    assert view_problems(view) == []


# -- link unfurling ----------------------------------------------------------------------------------


DASHBOARD = "https://dashboard.bik.example/customers/{bik_id}"


def test_unfurl_is_a_compact_card_with_open_in_bik():
    attachment = views.unfurl_attachment(Found(Q, VIP), VIEW, dashboard_url=DASHBOARD)
    assert attachment_problems(attachment) == []
    blocks = attachment["blocks"]
    assert [b["type"] for b in blocks] == ["section", "section", "context", "actions"]
    head = blocks[0]
    assert head["text"]["text"] == "*Meera Iyer*"
    labels = [f["text"].split("\n")[0] for f in head["fields"]]
    assert labels == ["*BIK id*", "*Partner id*", "*Phone*", "*Email*", "*Country*"]
    # Each value exactly as the card shows it (the country by name, the email as the card links it).
    card = cards.customer_blocks(Found(Q, VIP), VIEW, inline_addresses=0)
    card_fields = next(b["fields"] for b in card if b.get("fields"))
    assert head["fields"] == [f for f in card_fields if not f["text"].startswith(("*Created*", "*Updated*"))]
    assert blocks[1]["text"]["text"].startswith("*Default address*\n1 Market St")
    [button] = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert button["url"] == "https://dashboard.bik.example/customers/5482638"
    assert button["text"]["text"] == "Open in BIK"
    assert attachment["fallback"] == "BIK customer: Meera Iyer (BIK id 5482638, partner id vip-7)"


def test_unfurl_has_no_share_refresh_or_address_buttons():
    attachment = views.unfurl_attachment(Found(Q, MANY), VIEW, dashboard_url=None)
    assert attachment_problems(attachment) == []
    assert all(b["type"] != "actions" for b in attachment["blocks"])
    assert "60 addresses" in all_text({"blocks": attachment["blocks"]})
    assert len(attachment["blocks"]) <= views.MAX_UNFURL_BLOCKS


def test_masked_unfurl_shows_only_the_masked_customer_and_says_so():
    masked = View(
        requester_id="U1", response_type="in_channel", masked=frozenset({"phone", "email", "address"})
    )
    customer = mask_customer(VIP, masked.masked)
    attachment = views.unfurl_attachment(Found(Q, customer), masked, dashboard_url=DASHBOARD)
    assert attachment_problems(attachment) == []
    dumped = json.dumps(attachment)
    assert "+14155550123" not in dumped and "meera.iyer@example.com" not in dumped
    assert "1 Market St" not in dumped
    assert ":lock: address and email and phone masked in this channel" in dumped


def test_unfurl_of_hostile_and_enormous_values_is_safe_and_small():
    for customer in (
        HOSTILE,
        SPARSE,
        Customer.model_validate({"id": "9" * 19, "partnerCustomerId": "p" * 500}),
    ):
        attachment = views.unfurl_attachment(Found(Q, customer), VIEW, dashboard_url=DASHBOARD)
        assert attachment_problems(attachment) == []
        assert len(attachment["fallback"]) <= 300 and "<" not in attachment["fallback"]


@pytest.mark.parametrize(
    "template", ["{other}", "{0}", "javascript:alert({bik_id})", "https://x/" + "y" * 3000]
)
def test_a_bad_dashboard_template_leaves_the_button_out(template):
    attachment = views.unfurl_attachment(Found(Q, VIP), VIEW, dashboard_url=template)
    assert attachment_problems(attachment) == []
    assert all(b["type"] != "actions" for b in attachment["blocks"])


def test_channel_ref_mentions_only_channel_ids():
    assert views.channel_ref("C0123ABC") == "<#C0123ABC>"
    assert views.channel_ref("G12") == "<#G12>"
    for other in ("D0123", "c0123", "C1", "C12|x", "<#C123>", "C123>"):
        assert "<#" not in views.channel_ref(other)
