from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import cards
from bot.bik.errors import NotFound, Rejected, TimedOut, Unauthorized, Unavailable, Unexpected, WrongAddress
from bot.bik.models import Customer
from bot.cards import Failed, Found, View, esc, lookup_message
from bot.query import Kind, Query
from bot.sandbox import CUSTOMERS
from tests.blockkit import check_limits, check_safe, check_view_limits, sdk_problems, texts

Q = Query(Kind.PARTNER, "abcd-122345")
VIEW = View(requester_id="U1", share_button=True)


def card(record, view=VIEW, query=Q):
    return lookup_message([Found(query, Customer.model_validate(record))], view)


def check_sdk(message):
    """The second opinion: slack_sdk's Block Kit models read every block (or the view) as we built it."""
    assert sdk_problems(message) == []


def all_text(message):
    return "\n".join(t for _, t in texts(message))


def test_example_card_has_header_fields_address_assets_and_footer():
    message = card(CUSTOMERS[0])
    check_limits(message)
    check_sdk(message)
    check_safe(message)
    kinds = [b["type"] for b in message["blocks"]]
    assert kinds == ["header", "section", "section", "section", "actions", "context"]
    assert (
        message["blocks"][2]["text"]["text"]
        == "*Address*\nhsr layout\nbangalore, karnataka 560102\nIndia (IN)"
    )
    assert (
        "• <mailto:test.2@bik.ai|test.2@bik.ai> (primary, added "
        "<!date^1723195975^{date_short_pretty}|2024-08-09 09:32 UTC>)" in all_text(message)
    )
    assert message["blocks"][-1]["elements"][0]["text"] == "Looked up by <@U1>"
    assert message["text"] == "BIK customer: Test Last (BIK id 5482636, partner id abcd-122345)"


def test_every_optional_field_absent_still_gives_a_valid_card():
    message = card({"id": 9})
    check_limits(message)
    check_sdk(message)
    check_safe(message)
    assert message["blocks"][0]["text"]["text"] == "Unnamed customer"
    assert "None" not in str(message) and "undefined" not in str(message)


def test_only_a_partner_id():
    message = card({"partnerCustomerId": "p-1", "firstName": "undefined", "lastName": None})
    check_limits(message)
    check_sdk(message)
    assert message["blocks"][0]["text"]["text"] == "Unnamed customer"
    assert "*Partner id*\np-1" in all_text(message)


def test_hostile_values_are_escaped_everywhere():
    message = card(CUSTOMERS[4])
    check_safe(message)
    text = all_text(message)
    assert "<!channel>" not in text.replace(message["blocks"][0]["text"]["text"], "")
    assert "&lt;!subteam^S123&gt;" in text
    assert "&lt;@U012ABC&gt; street" in text
    # The header is plain_text: shown literally, never parsed.
    assert message["blocks"][0]["text"] == {
        "type": "plain_text",
        "text": "<!channel> <https://evil.example|click me> & @here",
        "emoji": False,
    }
    for block in message["blocks"]:
        for obj in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]:
            if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
                assert obj["verbatim"] is True


def test_sixty_addresses_show_five_default_first_and_offer_the_rest():
    message = card(CUSTOMERS[1])
    check_limits(message)
    check_sdk(message)
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and "text" in b]
    assert sections[0].startswith("*Default address*\n42 MG Road")
    assert sum(s.startswith(("*Default address*", "*Address ")) for s in sections) == 5
    assert "+ 55 more addresses" in all_text(message)
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    more = [e for e in actions["elements"] if e["action_id"] == cards.ACTION_ADDRESSES]
    assert (
        more
        and more[0]["text"]["text"] == "Show all 60 addresses"
        and more[0]["value"] == "partner:abcd-122345"
    )


def test_five_large_customers_fit_in_fifty_blocks():
    big = dict(
        CUSTOMERS[1],
        tags=["t"] * 30,
        assets=[{"assetName": "EMAIL", "assetValue": f"a{i}@x.io"} for i in range(30)],
    )
    results = [Found(Query(Kind.PARTNER, f"id{i}"), Customer.model_validate(big)) for i in range(5)]
    message = lookup_message(results, VIEW)
    check_limits(message)
    check_sdk(message)
    assert sum(b["type"] == "header" for b in message["blocks"]) == 5


def test_the_block_cap_holds_even_when_a_card_is_enormous():
    blocks = [{"type": "divider"}] * 80 + [{"type": "context", "elements": [cards.mrkdwn("footer")]}]
    fitted = cards._fit(blocks)
    assert len(fitted) == 50 and fitted[-1]["elements"][0]["text"] == "footer"
    assert "Shortened" in fitted[-2]["elements"][0]["text"]


def test_long_values_are_cut_before_escaping_and_stay_within_limits():
    record = {
        "id": 1,
        "firstName": "N" * 500,
        "email": "&" * 5000,
        "addresses": [{"address1": "<" * 5000, "address2": ">" * 5000, "city": "&" * 5000}],
        "assets": [{"assetName": "PHONE_NUMBER", "assetValue": "&" * 3000} for _ in range(20)],
    }
    message = card(record)
    check_limits(message)
    check_sdk(message)
    check_safe(message)
    assert len(message["blocks"][0]["text"]["text"]) <= 150


def test_dates_are_slack_date_tokens_with_a_readable_fallback():
    message = card(CUSTOMERS[0])
    created = next(f["text"] for f in message["blocks"][1]["fields"] if f["text"].startswith("*Created*"))
    assert created == "*Created*\n<!date^1723195975^{date_short_pretty} {time}|2024-08-09 09:32 UTC>"


def test_map_link_only_with_both_coordinates():
    with_map = card(CUSTOMERS[2])
    assert "<https://maps.google.com/?q=37.793600,-122.395800|Map>" in all_text(with_map)
    without = card({"id": 1, "addresses": [{"city": "x", "latitude": 1.0}]})
    assert "Map>" not in all_text(without)


def test_tags_and_open_in_bik_button():
    view = View(requester_id="U1", dashboard_url="https://bik.example/customers/{bik_id}")
    message = card(CUSTOMERS[2], view)
    assert "*Tags:* vip, wholesale, repeat-buyer" in all_text(message)
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    assert actions["elements"] == [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Open in BIK", "emoji": False},
            "action_id": "open_in_bik",
            "url": "https://bik.example/customers/5482638",
        },
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Refresh", "emoji": False},
            "action_id": "refresh_card",
            "value": "partner:abcd-122345",
        },
    ]


def test_dashboard_link_quotes_the_id():
    customer = Customer.model_validate({"id": "1/../x?y"})
    assert cards.dashboard_link("https://b/{bik_id}", customer) == "https://b/1%2F..%2Fx%3Fy"


def test_share_button_only_on_ephemeral_replies_where_allowed():
    def has_share(message):
        return any(
            e.get("action_id") == cards.ACTION_SHARE
            for b in message["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
        )

    assert has_share(card(CUSTOMERS[0], View("U1", share_button=True)))
    assert not has_share(card(CUSTOMERS[0], View("U1", share_button=False)))
    assert not has_share(card(CUSTOMERS[0], View("U1", response_type="in_channel", share_button=True)))


def test_footer_names_masking_and_sharer():
    message = card(CUSTOMERS[0], View("U1", masked=frozenset({"phone", "email"}), shared_by="U2"))
    assert message["blocks"][-1]["elements"][0]["text"] == (
        "Shared by <@U2> · :lock: email and phone masked in this channel"
    )


def test_error_lines_for_every_error_kind():
    cases = {
        NotFound(): "No customer with partner id `abcd-122345`.",
        Rejected("bad <field>"): "BIK rejected the lookup of partner id `abcd-122345`: “bad &lt;field&gt;”",
        Unauthorized(): "An admin must fix the bot's BIK token",
        WrongAddress(): "An admin must fix `BIK_API_BASE_URL`",
        Unavailable(): "BIK is unavailable",
        TimedOut(): "BIK did not answer in time",
        Unexpected(): "Unexpected answer from BIK",
    }
    for error, expected in cases.items():
        message = lookup_message([Failed(Q, error)], VIEW)
        check_limits(message)
        check_sdk(message)
        check_safe(message)
        assert expected in message["blocks"][0]["text"]["text"]
        assert message["text"] and not message["text"].startswith(":")


# Every builder in bot/cards.py, with the inputs that stretch it most.
ERRORS = [
    NotFound(),
    Rejected("bad <field>"),
    Unauthorized(),
    WrongAddress(),
    Unavailable(),
    TimedOut(),
    Unexpected(),
]
MANY = dict(CUSTOMERS[1], addresses=CUSTOMERS[1]["addresses"] * 3)  # 180 addresses
EVERYTHING = View(
    "U1", share_button=True, dashboard_url="https://bik.example/c/{bik_id}", masked=frozenset({"phone"})
)
BUILT = {
    **{f"card {i}": lambda r=record: card(r, EVERYTHING) for i, record in enumerate(CUSTOMERS)},
    "card with 180 addresses": lambda: card(MANY, EVERYTHING),
    "shared card": lambda: card(CUSTOMERS[0], View("U1", response_type="in_channel", shared_by="U2")),
    "five cards and a failure": lambda: lookup_message(
        [Found(Query(Kind.PARTNER, f"id{i}"), Customer.model_validate(MANY)) for i in range(5)]
        + [Failed(Q, NotFound())],
        EVERYTHING,
    ),
    **{
        f"error {type(e).__name__}": lambda e=e: lookup_message([Failed(Q, e, tried_bik_too=True)], VIEW)
        for e in ERRORS
    },
    "help": cards.help_message,
    "invalid": lambda: cards.invalid_message("`x` is bad"),
    "pending": cards.pending_message,
    "text": lambda: cards.text_message(":no_entry_sign: denied", response_type="in_channel"),
    "addresses modal": lambda: cards.addresses_modal(Customer.model_validate(CUSTOMERS[1])),
    "addresses modal, 180": lambda: cards.addresses_modal(Customer.model_validate(MANY)),
    "addresses modal, masked": lambda: cards.addresses_modal(
        Customer.model_validate(CUSTOMERS[0]), masked=["address"]
    ),
    "addresses modal, hostile": lambda: cards.addresses_modal(Customer.model_validate(CUSTOMERS[4])),
    "notice modal": lambda: cards.notice_modal("Addresses", ":hourglass_flowing_sand: Loading…"),
    "notice modal, long": lambda: cards.notice_modal("A title longer than the limit", "x" * 5000),
}


@pytest.mark.parametrize("name", list(BUILT))
def test_every_builder_passes_our_limits_and_slack_sdk(name):
    built = BUILT[name]()
    if built.get("type") == "modal":
        check_view_limits(built)
    else:
        check_limits(built)
    check_sdk(built)


def test_digits_fallback_not_found_names_both_kinds():
    failed = Failed(Query(Kind.PARTNER, "123", digits_fallback=True), NotFound(), tried_bik_too=True)
    assert "partner id or BIK id `123`" in cards.error_text(failed)


def test_user_typed_backticks_do_not_break_the_code_span():
    assert "“a`b”" in cards.error_text(Failed(Query(Kind.PARTNER, "a`b"), NotFound()))


def test_addresses_modal_respects_the_modal_limit():
    many = dict(CUSTOMERS[1], addresses=CUSTOMERS[1]["addresses"] * 3)  # 180 addresses
    view = cards.addresses_modal(Customer.model_validate(many))
    check_view_limits(view)
    check_sdk(view)
    assert view["type"] == "modal" and len(view["blocks"]) <= 100
    assert len(view["title"]["text"]) <= 24
    assert "more; open the customer in BIK" in str(view["blocks"][-1])


def test_help_invalid_and_pending_messages_are_valid():
    for message in (
        cards.help_message(),
        cards.invalid_message("`x` is bad"),
        cards.pending_message(),
        cards.text_message(":no_entry_sign: denied"),
    ):
        check_limits(message)
        check_sdk(message)
        assert message["response_type"] == "ephemeral"


# -- properties -----------------------------------------------------------------------------------

values = st.one_of(
    st.none(),
    st.text(max_size=400),
    st.integers(),
    st.sampled_from(["undefined", "null", "<!here>", "&amp;", "<@U1>"]),
)


@settings(max_examples=150, deadline=None)
@given(
    first=values,
    last=values,
    email=values,
    phone=values,
    address=st.fixed_dictionaries({"address1": values, "city": values, "zip": values, "firstName": values}),
    tags=st.lists(st.text(max_size=50), max_size=30),
)
def test_any_bik_values_render_safely_within_limits(first, last, email, phone, address, tags):
    record = {
        "id": 1,
        "firstName": first,
        "lastName": last,
        "email": email,
        "phoneNumber": phone,
        "addresses": [address] * 3,
        "tags": tags,
        "assets": [{"assetName": "EMAIL", "assetValue": email}],
    }
    message = card(record)
    check_limits(message)
    check_sdk(message)
    check_safe(message)


@given(st.text())
def test_esc_leaves_no_markup_and_is_reversible(text):
    escaped = esc(text)
    assert "<" not in escaped and ">" not in escaped
    assert escaped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text


def test_broadcast_words_in_bik_names_are_defanged_in_the_fallback():
    message = card(CUSTOMERS[4])  # lastName "... & @here"
    assert "@here" not in message["text"] and "@\u2060here" in message["text"]
    assert (
        cards.defang("@Channel and @everyone, not @heretic")
        == "@\u2060Channel and @\u2060everyone, not @heretic"
    )
