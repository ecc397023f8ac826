"""Line breaks, control and bidi characters in BIK values (security review finding 15).

A newline in a BIK value could fake a labelled line inside a card's field ("*Phone*\\n…"), and a
right-to-left override could make the header or the notification read differently from the data.
Both are neutralised where BIK data enters the bot, and again where it is rendered.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import cards
from bot.bik.errors import Rejected
from bot.bik.models import Customer, parse_customer, sanitise
from bot.cards import Failed, Found, View, addresses_modal, lookup_message
from bot.query import Kind, Query

# The independent oracle: Unicode's own classes, not the module's lists.
EXPLICIT_BIDI = {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
MARKS = {"\u200e", "\u200f", "\u061c"}  # LRM, RLM, ALM: the rest of Unicode's Bidi_Control set
FOLDED = {"Cc", "Zl", "Zp", "Cs"}


def is_neutralised(ch: str) -> bool:
    return unicodedata.category(ch) in FOLDED or unicodedata.bidirectional(ch) in EXPLICIT_BIDI or ch in MARKS


def clean(text: str) -> bool:
    return not any(is_neutralised(ch) for ch in text)


@given(st.text(st.characters(codec=None)))
def test_sanitised_text_has_no_control_line_separator_or_bidi_characters(text):
    assert clean(sanitise(text))


@given(st.text(st.characters(codec=None).filter(lambda c: not is_neutralised(c))))
def test_text_without_them_is_unchanged(text):
    assert sanitise(text) == text


@given(st.text(st.characters(codec=None)))
def test_sanitise_is_idempotent(text):
    once = sanitise(text)
    assert sanitise(once) == once


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Eve\n*Phone*\n+1 555", "Eve *Phone* +1 555"),
        ("a\r\nb", "a b"),
        ("tab\there", "tab here"),
        ("line\u2028para\u2029end", "line para end"),
        ("\u202egnp.exe", "gnp.exe"),
        ("admin\u2066\u2069", "admin"),
        ("x\u200fy\u200ez\u061c", "xyz"),
        ("nul\x00and\x7fdel\x85nel", "nul and del nel"),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
    ],
)
def test_examples(raw, shown):
    assert sanitise(raw) == shown


@pytest.mark.parametrize(
    "name",
    [
        "محمد عبد الله",  # Arabic
        "अनुष्का शर्मा",  # Hindi
        "क्‍ष",  # Devanagari with a zero-width joiner, which shapes the letters
        "王小明",
        "김민준",
        "👨‍👩‍👧",  # an emoji sequence held together by zero-width joiners
        "José Müller-Łukasz",
    ],
)
def test_legitimate_non_latin_names_stay_intact(name):
    assert sanitise(name) == name
    customer = Customer.model_validate({"id": 1, "firstName": name})
    assert customer.first_name == name
    message = lookup_message([Found(Query(Kind.BIK, "1"), customer)], View("U1"))
    assert message["blocks"][0]["text"]["text"] == name
    assert name in message["text"]


def test_the_model_neutralises_every_bik_string_on_the_way_in():
    customer = parse_customer(
        {
            "data": {
                "id": "7\u202e",
                "partnerCustomerId": "p-1\n*Phone*\n+1 555 0100",
                "firstName": "\u202eEve",
                "tags": ["vip\u2028x", {"name": "a\tb"}],
                "addresses": [{"address1": "1 Main St\r\nContact: x", "city": "\u2067Pune\u2069"}],
                "assets": [{"assetName": "EMAIL", "assetValue": "a@b.co\n"}],
            }
        }
    )
    assert customer.id == "7"
    assert customer.partner_customer_id == "p-1 *Phone* +1 555 0100"
    assert customer.first_name == "Eve"
    assert customer.tags == ["vip x", "a b"]
    assert customer.addresses[0].address1 == "1 Main St Contact: x"
    assert customer.addresses[0].city == "Pune"
    assert customer.assets[0].asset_value == "a@b.co"


def test_a_value_that_is_only_controls_is_absent():
    assert Customer.model_validate({"id": 1, "firstName": "\u202e\n", "lastName": "\u200f"}).full_name is None


# -- what is rendered ------------------------------------------------------------------------------


def strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings(value, f"{path}[{index}]")


def check_rendered(message: dict[str, Any]) -> None:
    for path, text in strings(message):
        # Our own line breaks in mrkdwn are the only control characters a message may hold.
        assert clean(text.replace("\n", "")), (path, text)
        if ".fields[" in path and path.endswith(".text"):
            assert text.count("\n") == 1, (path, text)  # "*Label*\nvalue": no faked second line
    for block in message.get("blocks", []):
        if block["type"] == "header":
            assert "\n" not in block["text"]["text"]
    assert "\n" not in message.get("text", "")  # the notification: one line


nasty = st.text(st.characters(codec=None), max_size=40)


@st.composite
def raw_customers(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "id": draw(nasty),
        "partnerCustomerId": draw(nasty),
        "firstName": draw(nasty),
        "lastName": draw(nasty),
        "phoneNumber": draw(nasty),
        "email": draw(nasty),
        "countryCode": draw(nasty),
        "tags": draw(st.lists(nasty, max_size=3)),
        "addresses": [
            {k: draw(nasty) for k in ("address1", "address2", "city", "state", "zip", "firstName", "email")}
            for _ in range(draw(st.integers(0, 3)))
        ],
        "assets": [
            {"assetName": draw(st.sampled_from(["EMAIL", "PHONE_NUMBER", "X"])), "assetValue": draw(nasty)}
            for _ in range(draw(st.integers(0, 3)))
        ],
    }


@given(raw_customers(), st.sampled_from([frozenset(), frozenset({"phone", "email", "address"})]))
def test_no_bik_value_can_add_a_line_or_turn_text_around_in_a_card(record, masked):
    from bot.masking import mask_customer

    customer = mask_customer(Customer.model_validate(record), masked)
    message = lookup_message([Found(Query(Kind.PARTNER, "p"), customer)], View("U1", masked=masked))
    check_rendered(message)
    check_rendered(addresses_modal(customer, masked=masked))


@given(nasty)
def test_even_a_customer_built_without_validation_is_rendered_clean(text):
    """model_copy skips the validators: the renderer neutralises again."""
    customer = Customer.model_validate({"id": 1}).model_copy(
        update={"first_name": text, "partner_customer_id": text, "tags": [text]}
    )
    message = lookup_message([Found(Query(Kind.BIK, "1"), customer)], View("U1"))
    check_rendered(message)


@given(nasty)
def test_biks_own_error_message_is_neutralised_where_it_is_shown(text):
    message = lookup_message([Failed(Query(Kind.PARTNER, "p"), Rejected(text))], View("U1"))
    check_rendered(message)
    assert clean(cards.error_text(Failed(Query(Kind.PARTNER, "p"), Rejected(text)), View("U1")))


def test_a_faked_labelled_line_stays_inside_its_field():
    customer = Customer.model_validate({"id": 1, "partnerCustomerId": "p-1\n*Phone*\n+1 555 0100"})
    message = lookup_message([Found(Query(Kind.BIK, "1"), customer)], View("U1"))
    fields = message["blocks"][1]["fields"]
    assert {"type": "mrkdwn", "text": "*Partner id*\np-1 *Phone* +1 555 0100", "verbatim": True} in fields
    assert "\n" not in message["text"]
