"""SPEC section 4's newer parts of the card: "data as of", Refresh and Try again, mailto links,
countries by name, the reference on errors — and that all of it stays inside Slack's limits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import cards
from bot.bik.errors import NotFound, Rejected, TimedOut, Unauthorized, Unavailable, Unexpected, WrongAddress
from bot.bik.models import Customer
from bot.cards import (
    ACTION_ADDRESSES,
    ACTION_OPEN,
    ACTION_REFRESH,
    ACTION_RETRY,
    ACTION_SHARE,
    Failed,
    Found,
    View,
    country_label,
    email_text,
    lookup_message,
    message_value,
)
from bot.masking import find_emails, find_phones, mask_customer, mask_text
from bot.query import MAX_ID_LENGTH, Kind, Lookup, Query, parse_command, parse_query
from bot.sandbox import CUSTOMERS
from tests.blockkit import assert_valid_message, check_safe, texts
from tests.unit.test_content_masking import emails, phones

Q = Query(Kind.PARTNER, "abcd-122345")
ALL = frozenset({"phone", "email", "address"})
MASK_SETS = [frozenset(s) for s in ([], ["phone"], ["email"], ["address"], ["phone", "email"], ALL)]
FETCHED = datetime(2024, 8, 9, 9, 32, 55, tzinfo=UTC)
DATA_AS_OF = "data as of <!date^1723195975^{date_short_pretty} {time}|2024-08-09 09:32 UTC>"
RETRYABLE = [Unavailable(), TimedOut(), Unexpected()]
NOT_RETRYABLE = [NotFound(), Rejected("bad"), Unauthorized(), WrongAddress()]


def found(record: dict[str, Any], query: Query = Q, masked: frozenset[str] = frozenset()) -> Found:
    return Found(query, mask_customer(Customer.model_validate(record), masked))


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button of the message, in order: actions blocks' elements and section accessories."""
    out = []
    for block in message["blocks"]:
        if block["type"] == "actions":
            out += block["elements"]
        if block.get("accessory", {}).get("type") == "button":
            out.append(block["accessory"])
    return out


def by_action(message: dict[str, Any], action_id: str) -> list[dict[str, Any]]:
    return [b for b in buttons(message) if b["action_id"] == action_id]


def footer(message: dict[str, Any]) -> str:
    return message["blocks"][-1]["elements"][0]["text"]


def all_text(message: dict[str, Any]) -> str:
    return "\n".join(t for _, t in texts(message))


# -- "data as of" -----------------------------------------------------------------------------------


def test_footer_says_who_looked_it_up_and_when_the_data_was_fetched():
    message = lookup_message([found(CUSTOMERS[0])], View("U1", fetched_at=FETCHED))
    assert footer(message) == f"Looked up by <@U1> · {DATA_AS_OF}"
    assert_valid_message(message)


def test_footer_keeps_the_sharer_and_the_masking_note_around_data_as_of():
    view = View("U1", masked=frozenset({"phone"}), shared_by="U2", fetched_at=FETCHED)
    message = lookup_message([found(CUSTOMERS[0], masked=view.masked)], view)
    assert footer(message) == f"Shared by <@U2> · {DATA_AS_OF} · :lock: phone masked in this channel"


def test_without_fetched_at_the_footer_is_as_before():
    assert footer(lookup_message([found(CUSTOMERS[0])], View("U1"))) == "Looked up by <@U1>"


def test_data_as_of_is_one_instant_whatever_the_time_zone_given():
    ist = FETCHED.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert DATA_AS_OF in footer(lookup_message([found(CUSTOMERS[0])], View("U1", fetched_at=ist)))
    naive = FETCHED.replace(tzinfo=None)  # taken as UTC, as the model reads BIK's dates
    assert DATA_AS_OF in footer(lookup_message([found(CUSTOMERS[0])], View("U1", fetched_at=naive)))


def test_an_error_only_reply_also_says_when():
    message = lookup_message([Failed(Q, NotFound())], View("U1", fetched_at=FETCHED))
    assert DATA_AS_OF in footer(message)


# -- Refresh and Try again -------------------------------------------------------------------------

DASHBOARD = "https://bik.example/c/{bik_id}"


def test_every_card_has_refresh_last_after_the_other_buttons():
    view = View("U1", share_button=True, dashboard_url=DASHBOARD)
    results = [
        found(CUSTOMERS[1], Query(Kind.PARTNER, "many-addresses")),
        found(CUSTOMERS[3], Query(Kind.PARTNER, "sparse")),
        Failed(Query(Kind.PARTNER, "missing"), NotFound()),
    ]
    message = lookup_message(results, view)
    assert_valid_message(message)
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    assert len(actions) == 2  # one per card
    first = [e["action_id"] for e in actions[0]["elements"]]
    assert first == [ACTION_SHARE, ACTION_ADDRESSES, ACTION_OPEN, ACTION_REFRESH]
    assert [e["action_id"] for e in actions[1]["elements"]][-1] == ACTION_REFRESH
    assert len(by_action(message, ACTION_REFRESH)) == 2


def test_a_card_without_any_other_button_still_gets_refresh():
    message = lookup_message([found({"id": 9}, Query(Kind.BIK, "9"))], View("U1"))
    assert [b["action_id"] for b in buttons(message)] == [ACTION_REFRESH]
    assert by_action(message, ACTION_REFRESH)[0]["value"] == "bik:9"


@pytest.mark.parametrize("error", RETRYABLE, ids=lambda e: type(e).__name__)
def test_try_again_beside_errors_that_may_pass(error):
    message = lookup_message([Failed(Q, error, ref="7f3a2c1e")], View("U1"))
    assert_valid_message(message)
    [retry] = buttons(message)
    assert retry["action_id"] == ACTION_RETRY and retry["text"]["text"] == "Try again"
    assert retry["value"] == "partner:abcd-122345"
    assert message["blocks"][0]["accessory"] is retry  # beside the error line: no extra block


@pytest.mark.parametrize("error", NOT_RETRYABLE, ids=lambda e: type(e).__name__)
def test_no_try_again_where_trying_again_cannot_help(error):
    message = lookup_message([Failed(Q, error, ref="7f3a2c1e")], View("U1"))
    assert buttons(message) == []


def test_refresh_and_try_again_carry_the_whole_message_and_reparse():
    results = [
        found(CUSTOMERS[0]),
        Failed(Query(Kind.BIK, "77"), Unavailable()),
        Failed(Query(Kind.PARTNER, "missing"), NotFound()),
        Failed(parse_query("5482640"), TimedOut()),  # a bare number keeps its BIK-id fallback
    ]
    message = lookup_message(results, View("U1"))
    assert_valid_message(message)
    values = {b["value"] for b in by_action(message, ACTION_REFRESH) + by_action(message, ACTION_RETRY)}
    assert values == {"partner:abcd-122345 bik:77 partner:missing 5482640"}
    assert len(by_action(message, ACTION_RETRY)) == 2
    command = parse_command(values.pop())
    assert isinstance(command, Lookup)
    assert command.queries == tuple(r.query for r in results)


def test_duplicates_are_carried_once():
    customer = found(CUSTOMERS[0], masked=ALL)
    phone = Query(Kind.PARTNER, "+919090909090")
    results = [Found(phone, customer.customer), Found(Query(Kind.BIK, "5482636"), customer.customer)]
    assert message_value(results, View("U1", masked=ALL)) == "bik:5482636"


def test_refresh_can_be_turned_off():
    view = View("U1", share_button=True, refresh=False)
    message = lookup_message([found(CUSTOMERS[0]), Failed(Q, Unavailable())], view)
    assert [b["action_id"] for b in buttons(message)] == [ACTION_SHARE]


def test_a_card_built_alone_refreshes_itself():
    blocks = cards.customer_blocks(found(CUSTOMERS[0]), View("U1"), inline_addresses=1)
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert actions["elements"][-1]["value"] == "partner:abcd-122345"


def test_special_characters_are_carried_as_slack_escapes_command_text():
    query = parse_query("partner:a<b>&c")
    value = message_value([Failed(query, Unavailable())], View("U1"))
    assert value == "partner:a&lt;b&gt;&amp;c"
    command = parse_command(value)
    assert isinstance(command, Lookup) and command.queries == (query,)


def test_masked_queries_become_the_bik_id_or_are_left_out():
    view = View("U1", response_type="in_channel", masked=ALL)
    phone, email = Query(Kind.PARTNER, "+919090909090"), Query(Kind.PARTNER, "test.2@bik.ai")
    results = [
        found(CUSTOMERS[0], phone, masked=ALL),
        Failed(email, Unavailable()),  # nothing found: cannot be carried without showing it
        Failed(Q, Unavailable()),
    ]
    message = lookup_message(results, view)
    assert {b["value"] for b in buttons(message)} == {"bik:5482636 partner:abcd-122345"}
    dumped = json.dumps(message)
    assert "9090909090" not in dumped and "test.2" not in dumped


def test_nothing_left_to_carry_means_no_button():
    view = View("U1", masked=ALL)
    message = lookup_message([Failed(Query(Kind.PARTNER, "+919090909090"), TimedOut())], view)
    assert buttons(message) == []
    nameless = found({"partnerCustomerId": "+919090909090"}, Query(Kind.PARTNER, "+919090909090"), ALL)
    assert message_value([nameless], view) is None
    assert by_action(lookup_message([nameless], view), ACTION_REFRESH) == []


def test_an_over_long_message_value_means_no_button_rather_than_a_partial_refresh():
    ids = ["<" * (MAX_ID_LENGTH - 1) + str(i) for i in range(5)]  # each < is 4 characters once escaped
    results = [Failed(parse_query("partner:" + i), Unavailable()) for i in ids]
    assert message_value(results, View("U1")) is None
    assert buttons(lookup_message(results, View("U1"))) == []


@pytest.mark.parametrize("value", ["two words", "", "a\tb"])
def test_a_query_built_by_hand_that_would_not_reparse_is_left_out(value):
    results = [Failed(Query(Kind.PARTNER, value), Unavailable()), Failed(Q, Unavailable())]
    assert message_value(results, View("U1")) == "partner:abcd-122345"


def test_a_card_whose_query_would_not_reparse_is_carried_by_its_bik_id():
    record = found({"id": 7, "firstName": "A"}, Query(Kind.PARTNER, "two words"))
    assert message_value([record], View("U1")) == "bik:7"


def test_a_bidi_control_is_dropped_before_an_email_is_linked():
    assert email_text("a@b.co\u202e") == "<mailto:a@b.co|a@b.co>"


# Partner ids that look like contacts, as the stores that use phones or emails as ids have them.
partner_ids = st.one_of(
    phones(), emails, st.from_regex(r"[a-z]{1,6}-[0-9]{1,6}", fullmatch=True), st.just("abcd-122345")
)
errors = st.sampled_from([NotFound(), Rejected("bad"), Unavailable(), TimedOut(), Unexpected()])


@st.composite
def results(draw: st.DrawFn, masked: frozenset[str]) -> tuple[list[Any], list[str]]:
    out: list[Any] = []
    typed: list[str] = []
    for index in range(draw(st.integers(1, 5))):
        partner = draw(partner_ids)
        query = (
            Query(Kind.BIK, str(100 + index)) if draw(st.booleans()) else parse_query("partner:" + partner)
        )
        typed.append(query.value)
        if draw(st.booleans()):
            record = {"partnerCustomerId": partner, "firstName": "A", "email": draw(emails)}
            if draw(st.booleans()):
                record["id"] = 200 + index
            out.append(found(record, query, masked))
        else:
            out.append(Failed(query, draw(errors)))
    return out, typed


def check_button_values(generated: list[Any], typed: list[str], masked: frozenset[str], reply: str) -> None:
    view = View("U1", response_type=reply, share_button=True, masked=masked)
    message = lookup_message(generated, view)
    assert_valid_message(message)
    value = message_value(generated, view)
    again = by_action(message, ACTION_REFRESH) + by_action(message, ACTION_RETRY)
    assert {b["value"] for b in again} <= {value}
    if value is None:
        return
    assert len(value) <= cards.MAX_BUTTON_VALUE
    command = parse_command(value)
    assert isinstance(command, Lookup)
    for query in command.queries:
        if query.kind is Kind.PARTNER:
            assert mask_text(query.value, masked) == query.value  # nothing masked is carried
            assert query.value in typed
    partners = [q.value for q in command.queries if q.kind is Kind.PARTNER]
    # The phones the carried ids spell, read as bot.masking reads one (digits joined by spaces, dots,
    # dashes and brackets only), so that a phone is caught in any such spelling. Not all the digits
    # of an id run together: those of an unmasked email typed beside the phone ("0@000000.aa" next
    # to "0000000") are not that phone, and carrying the email is right.
    carried_phones = [re.sub(r"\D", "", run) for p in partners for run in find_phones(p)]
    for secret in typed:
        if "email" in masked:
            for email in find_emails(secret):
                assert email not in value
        if "phone" in masked:
            for phone in find_phones(secret):
                digits = re.sub(r"\D", "", phone)
                assert not any(digits in carried for carried in carried_phones)


@settings(max_examples=100, deadline=None)
@given(st.data(), st.sampled_from(MASK_SETS), st.sampled_from(["ephemeral", "in_channel"]))
def test_button_values_reparse_and_never_carry_a_masked_phone_or_email(data, masked, reply):
    generated, typed = data.draw(results(masked))
    check_button_values(generated, typed, masked, reply)


@pytest.mark.parametrize("reply", ["ephemeral", "in_channel"])
@pytest.mark.parametrize(
    ("typed", "carried"),
    [
        # Seven digits, but split by "@": an email, not a phone.
        (["0@000000.aa"], "partner:0@000000.aa"),
        # A masked phone (left out) beside an email with the same digits (carried).
        (["0000000", "0@000000.aa"], "partner:0@000000.aa"),
        # "_" is no phone separator: an id that is not the phone typed beside it.
        (["98765-43210", "98765_43210"], "partner:98765_43210"),
    ],
)
def test_an_unmasked_id_sharing_a_masked_phones_digits_is_still_carried(typed, carried, reply):
    generated = [Failed(parse_query("partner:" + t), NotFound()) for t in typed]
    masked = frozenset({"phone"})
    assert message_value(generated, View("U1", response_type=reply, masked=masked)) == carried
    check_button_values(generated, typed, masked, reply)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S")), min_size=1, max_size=40),
        min_size=1,
        max_size=5,
    )
)
def test_any_valid_partner_ids_round_trip_through_the_button(ids):
    queries = [parse_query("partner:" + i) for i in ids]
    value = message_value([Failed(q, Unavailable()) for q in queries], View("U1"))
    assert value is not None and len(value) <= cards.MAX_BUTTON_VALUE
    command = parse_command(value)
    assert isinstance(command, Lookup)
    assert command.queries == tuple(dict.fromkeys(queries))


# -- mailto ----------------------------------------------------------------------------------------


def test_an_unmasked_email_is_a_mailto_link_everywhere_it_appears():
    record = dict(
        CUSTOMERS[0],
        addresses=[dict(CUSTOMERS[0]["addresses"][0], email="ship.to@bik.ai", phoneNumber="+919812345678")],
    )
    message = lookup_message([found(record)], View("U1"))
    assert_valid_message(message)
    text = all_text(message)
    assert "*Email*\n<mailto:test.2@bik.ai|test.2@bik.ai>" in text
    assert "• <mailto:test.2@bik.ai|test.2@bik.ai> (primary" in text
    assert "Contact: +919812345678 · <mailto:ship.to@bik.ai|ship.to@bik.ai>" in text
    assert "tel:" not in text and "<+91" not in text  # the phone stays plain text
    assert "mailto" not in message["text"]  # the fallback names no email at all


def test_the_addresses_modal_links_unmasked_contact_emails_too():
    record = {"id": 1, "addresses": [{"city": "x", "email": "ship.to@bik.ai"}]}
    modal = cards.addresses_modal(Customer.model_validate(record))
    assert (
        "<mailto:ship.to@bik.ai|ship.to@bik.ai>" in json.loads(json.dumps(modal))["blocks"][1]["text"]["text"]
    )
    assert_valid_message(modal)


@pytest.mark.parametrize("masked", [frozenset({"email"}), ALL, frozenset({"phone"})])
def test_a_masked_email_is_never_a_link(masked):
    record = dict(CUSTOMERS[0], email="9876543210@bik.ai")  # phone masking masks this one too
    view = View("U1", masked=masked)
    message = lookup_message([found(record, masked=masked)], view)
    assert_valid_message(message)
    text = all_text(message)
    assert "<mailto:9876543210" not in text and "***" in text
    if "email" in masked:
        assert "mailto" not in text


def test_email_masked_by_the_view_is_not_linked_even_if_it_reached_the_card_unmasked():
    assert email_text("a@b.co", {"email"}) == "a@b.co"
    assert email_text("a@b.co") == "<mailto:a@b.co|a@b.co>"


@pytest.mark.parametrize(
    "value",
    [
        "a|b@x.com",
        "a@x.com|evil",
        "a@x.com>",
        "<a@x.com>",
        "a@x.com&x",
        "<https://evil.example|a@b.co>",
        "a b@x.com",
        '"a"@x.com',
        "ä@x.com",
        "t***@bik.ai",
        "a" * 300 + "@x.com",
    ],
)
def test_an_email_that_cannot_be_linked_safely_is_escaped_text(value):
    shown = email_text(value)
    assert "mailto" not in shown and "<" not in shown and ">" not in shown
    record = {"id": 1, "email": value, "assets": [{"assetName": "EMAIL", "assetValue": value}]}
    assert_valid_message(lookup_message([found(record)], View("U1")))


@settings(max_examples=300, deadline=None)
@given(st.one_of(emails, st.text(max_size=80), st.emails()))
def test_any_email_value_is_a_clean_link_or_plain_text(value):
    shown = email_text(value)
    if shown.startswith("<mailto:"):
        address = shown[len("<mailto:") : shown.index("|")]
        assert shown == f"<mailto:{address}|{address}>" and "*" not in address
    message = lookup_message([found({"id": 1, "email": value})], View("U1"))
    check_safe(message)  # only our own markup: a link can never be broken out of


# -- countries -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code", "shown"),
    [
        (None, "IND", "India (IND)"),
        (None, "ind", "India (ind)"),
        (None, "USA", "United States (USA)"),
        (None, "BOL", "Bolivia (BOL)"),  # pycountry's common name, not "Bolivia, Plurinational State of"
        (None, "XYZ", "XYZ"),  # unknown: as it is
        (None, "+91", "+91"),
        ("India", "IN", "India (IN)"),  # an address: BIK's name with BIK's code
        ("India", "IND", "India (IND)"),
        ("India", None, "India"),
        ("IND", None, "India (IND)"),  # a code in the name field
        ("India", "India", "India"),  # never the same thing twice
        ("india", "INDIA", "india"),
        ("Bharat", "IN", "Bharat (IN)"),  # BIK's own name wins; its code stays visible
        (None, None, None),
    ],
)
def test_country_label(name, code, shown):
    assert country_label(name, code) == shown


def test_the_card_and_its_addresses_show_countries_by_name():
    record = dict(
        CUSTOMERS[0],
        addresses=[
            {"city": "a", "country": "India", "countryCode": "IN", "isDefault": True},
            {"city": "b", "countryCode": "USA"},
            {"city": "c", "country": "ZZZ"},
        ],
    )
    message = lookup_message([found(record)], View("U1"))
    assert_valid_message(message)
    text = all_text(message)
    assert "*Country*\nIndia (IND)" in text
    assert "\nIndia (IN)" in text and "\nUnited States (USA)" in text and "\nZZZ" in text
    assert "(India)" not in text


def test_an_unknown_country_code_on_the_card_is_shown_as_it_is():
    message = lookup_message([found({"id": 1, "countryCode": "QQQ"})], View("U1"))
    assert "*Country*\nQQQ" in all_text(message)


# -- the reference on errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "error", [Unauthorized(), WrongAddress(), *RETRYABLE], ids=lambda e: type(e).__name__
)
def test_the_reference_is_in_the_error_line_and_the_fallback_text(error):
    message = lookup_message([Failed(Q, error, ref="7f3a2c1e")], View("U1"))
    assert "(ref 7f3a2c1e)" in message["blocks"][0]["text"]["text"]
    assert "(ref 7f3a2c1e)" in message["text"]


def test_no_reference_where_the_asker_can_act_alone():
    message = lookup_message([Failed(Q, NotFound(), ref="7f3a2c1e")], View("U1"))
    assert "ref" not in message["text"] and "7f3a2c1e" not in json.dumps(message)


# -- limits ----------------------------------------------------------------------------------------


def test_five_enormous_cards_with_every_button_and_errors_still_fit():
    big = dict(
        CUSTOMERS[1],
        tags=["t"] * 30,
        assets=[{"assetName": "EMAIL", "assetValue": f"a{i}@x.io"} for i in range(30)],
    )
    view = View("U1", share_button=True, dashboard_url=DASHBOARD, fetched_at=FETCHED)
    results = [found(big, Query(Kind.PARTNER, f"id{i}")) for i in range(4)]
    results.append(Failed(Query(Kind.PARTNER, "x" * MAX_ID_LENGTH), Unavailable(), ref="7f3a2c1e"))
    message = lookup_message(results, view)
    assert_valid_message(message)
    assert len(message["blocks"]) <= cards.MAX_BLOCKS
    assert len(by_action(message, ACTION_REFRESH)) == 4 and len(by_action(message, ACTION_RETRY)) == 1
    for block in message["blocks"]:
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25


def test_the_longest_possible_message_value_fits_a_button():
    results = [
        Failed(parse_query(f"partner:{i}" + "x" * (MAX_ID_LENGTH - 1)), Unavailable()) for i in range(5)
    ]
    value = message_value(results, View("U1"))
    assert value is not None and len(value) <= cards.MAX_BUTTON_VALUE
    assert_valid_message(lookup_message(results, View("U1")))
