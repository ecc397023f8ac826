"""Masking by content, not only by label (security review finding 8).

A phone used as a partner id, an email inside a tag, a phone typed as the query, BIK's own error
message in a channel: when a field is masked, what *looks like* one must not reach the channel, its
fallback text, the buttons' values or the audit line either.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.audit import Audit
from bot.bik.errors import NotFound, Rejected, TimedOut, Unavailable, Unexpected
from bot.bik.models import Customer
from bot.cards import (
    ACTION_ADDRESSES,
    ACTION_REFRESH,
    ACTION_SHARE,
    Failed,
    Found,
    View,
    error_text,
    lookup_message,
)
from bot.masking import find_emails, find_phones, mask_customer, mask_text
from bot.query import Kind, Query

ALL = frozenset({"phone", "email", "address"})
MASK_SETS = [frozenset(s) for s in ([], ["phone"], ["email"], ["address"], ["phone", "email"], ALL)]


def dump(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


def buttons(message: dict[str, Any]) -> dict[str, str | None]:
    return {
        e["action_id"]: e.get("value")
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }


# -- what "looks like a phone" and "looks like an email" means -------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call +91 98765 43210 now", "call +91******3210 now"),
        ("(+91) 98765-43210", "(+91******3210"),
        ("9876543", "*****43"),
        ("+1 (415) 555-0123", "+*******0123"),
        ("98765 - 43210", "******3210"),
        ("order 1234567, apt 12", "order *****67, apt 12"),
        ("Rahul 9876543210@gmail.com", "Rahul ******3210@gmail.com"),
    ],
)
def test_phone_looking_runs_are_masked_anywhere_in_a_value(text, masked):
    assert mask_text(text, {"phone"}) == masked


@pytest.mark.parametrize(
    "text",
    [
        "Apt 12",
        "Flat 12B, 4th floor",
        "560102",  # an Indian PIN code: 6 digits
        "abcd-122345",  # the documentation's partner id
        "since 2024-08-09",  # an ISO date is not a phone
        "12, 34, 56, 78",  # separate small numbers
        "size 42 / 44",
        "v1.2.3",
    ],
)
def test_legitimate_numbers_survive_phone_masking(text):
    assert mask_text(text, {"phone", "email"}) == text
    assert find_phones(text) == []


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("alt: priya.k@example.org", "alt: p***@example.org"),
        ("<a@b.co>", "<***@b.co>"),
        ("x@user@example.com", "x***@example.com"),
        ("mailto:rahul@bik.ai.", "mailto:r***@bik.ai."),
    ],
)
def test_email_looking_substrings_are_masked_anywhere_in_a_value(text, masked):
    assert mask_text(text, {"email"}) == masked


def test_only_the_masked_kinds_are_touched():
    text = "a.b@example.com or +919876543210"
    assert mask_text(text, set()) == text
    assert mask_text(text, {"address"}) == text
    assert mask_text(text, {"email"}) == "a***@example.com or +919876543210"
    assert mask_text(text, {"phone"}) == "a.b@example.com or +91******3210"


# -- properties of the text masking ----------------------------------------------------------------


@given(st.text())
def test_no_seven_digits_in_a_row_survive_phone_masking(text):
    masked = mask_text(text, {"phone"})
    assert re.search(r"\d{7}", masked) is None
    assert find_phones(masked) == []
    assert mask_text(masked, {"phone"}) == masked  # idempotent


@given(st.text())
def test_no_email_survives_email_masking_except_in_masked_form(text):
    masked = mask_text(text, {"email"})
    for email in find_emails(masked):
        local = email.rpartition("@")[0]
        assert re.fullmatch(r".?\*\*\*", local), email
    assert mask_text(masked, {"email"}) == masked  # idempotent


@given(st.emails())
def test_every_valid_email_is_found_whole(email):
    assert find_emails(f"write to {email} today") == [email]


short_numbers = st.integers(0, 999_999).map(str)
words = st.text(st.characters(exclude_categories=("Nd", "Cc", "Cs")).filter(lambda c: c not in "@,"))


@given(st.lists(st.one_of(words, short_numbers)))
def test_text_without_long_numbers_or_at_signs_is_never_changed(parts):
    text = ", ".join(parts)
    assert mask_text(text, ALL) == text


# -- the rendered message, for any customer --------------------------------------------------------

# Digits come only from the phones and from the short legitimate numbers, so nothing else in the
# message can spell a phone by accident; everything else is arbitrary text, controls included.
filler = st.text(st.characters(exclude_categories=("Nd",)), max_size=12)


@st.composite
def phones(draw: st.DrawFn) -> str:
    digits = draw(st.text("0123456789", min_size=7, max_size=15))
    cuts = sorted(draw(st.sets(st.integers(1, len(digits) - 1), max_size=4)))
    groups = [digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)], strict=True)]
    separators = [draw(st.sampled_from([" ", "-", ".", " - ", ") ", " ("])) for _ in groups[1:]]
    text = groups[0] + "".join(s + g for s, g in zip(separators, groups[1:], strict=True))
    return draw(st.sampled_from(["", "+"])) + text


emails = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,10}@[a-z0-9-]{1,10}\.[a-z]{2,6}", fullmatch=True)
contacts = st.one_of(phones(), emails)


@st.composite
def values(draw: st.DrawFn, secrets: list[str]) -> str | None:
    """Arbitrary text, sometimes with a phone or an email inside it (recorded in ``secrets``)."""
    if draw(st.booleans()):
        return draw(st.one_of(st.none(), filler))
    secret = draw(contacts)
    secrets.append(secret)
    return draw(filler) + secret + draw(filler)


@st.composite
def customers(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    secrets: list[str] = []

    def value() -> str | None:
        return draw(values(secrets))

    def address(default: bool) -> dict[str, Any]:
        keys = ("address2", "city", "state", "lastName", "phoneNumber", "email")
        return {
            "address1": "Apt 12",
            "zip": "560102",
            "isDefault": default,
            **{k: value() for k in keys},
        }

    record = {
        "id": "42",
        "partnerCustomerId": value() or "p",
        "firstName": value(),
        "lastName": value(),
        "phoneNumber": value(),
        "email": value(),
        "countryCode": value(),
        "tags": ["size 42", *(value() for _ in range(draw(st.integers(0, 3))))],
        "addresses": [address(default=i == 0) for i in range(draw(st.integers(1, 7)))],
        "assets": [
            {
                "assetName": draw(st.sampled_from(["EMAIL", "PHONE_NUMBER", "WHATSAPP", None])),
                "assetValue": value(),
            }
            for _ in range(draw(st.integers(0, 3)))
        ],
    }
    return record, secrets


def leaked(text: str, secrets: list[str], masked: frozenset[str]) -> list[str]:
    out = []
    for secret in secrets:
        if "@" in secret and "email" in masked and secret in text:
            out.append(secret)
        if "@" not in secret and "phone" in masked:
            digits = re.sub(r"\D", "", secret)
            if secret in text or digits in text:
                out.append(secret)
    return out


@settings(deadline=None)
@given(
    customers(),
    st.sampled_from(MASK_SETS),
    st.sampled_from(["ephemeral", "in_channel"]),
    st.one_of(phones(), emails, st.just("abcd-122345")),
)
def test_masked_contacts_appear_nowhere_in_the_rendered_message(generated, masked, reply, typed):
    record, secrets = generated
    customer = mask_customer(Customer.model_validate(record), masked)
    query = Query(Kind.PARTNER, typed)
    view = View("U1", response_type=reply, share_button=True, masked=masked)
    message = lookup_message([Found(query, customer), Failed(query, NotFound())], view)
    whole = dump(message)
    typed_secret = [] if typed == "abcd-122345" else [typed]
    assert leaked(whole, [*secrets, *typed_secret], masked) == []
    if "phone" in masked:
        assert re.search(r"\d{7}", whole) is None
    # Legitimate short numbers are not phones: they survive every mask that does not drop them.
    assert "size 42" in whole
    if "address" not in masked:
        assert "Apt 12" in whole and "560102" in whole


# -- the query id: error lines, fallback and buttons -----------------------------------------------

PHONE_QUERY = Query(Kind.PARTNER, "+919090909090")
EMAIL_QUERY = Query(Kind.PARTNER, "test.2@bik.ai")


@pytest.mark.parametrize("error", [NotFound(), Rejected("bad"), TimedOut(), Unavailable(), Unexpected()])
@pytest.mark.parametrize("query", [PHONE_QUERY, EMAIL_QUERY])
def test_a_phone_or_email_typed_as_the_id_is_masked_in_error_lines(error, query):
    view = View("U1", response_type="in_channel", masked=ALL)
    whole = dump(lookup_message([Failed(query, error)], view))
    assert "9090909090" not in whole and "test.2" not in whole
    assert "+91******9090" in whole or "t***@bik.ai" in whole


def test_the_id_typed_is_shown_as_typed_where_nothing_is_masked():
    whole = dump(lookup_message([Failed(PHONE_QUERY, NotFound())], View("U1")))
    assert "No customer with partner id `+919090909090`" in whole


def test_a_bik_id_is_never_taken_for_a_phone():
    customer = mask_customer(Customer.model_validate({"id": 9876543210, "firstName": "A"}), ALL)
    query = Query(Kind.BIK, "9876543210")
    message = lookup_message([Found(query, customer), Failed(query, NotFound())], View("U1", masked=ALL))
    assert "*BIK id*\\n9876543210" in dump(message)
    assert "BIK id `9876543210`" in dump(message)


def _with_addresses(**record: Any) -> Customer:
    addresses = [{"city": f"City {i}"} for i in range(7)]
    return Customer.model_validate({"firstName": "A", "addresses": addresses, **record})


def test_buttons_of_a_masked_card_carry_the_bik_id_instead_of_a_phone_query():
    customer = mask_customer(_with_addresses(id=5482636, partnerCustomerId="+919090909090"), ALL)
    view = View("U1", share_button=True, masked=ALL)
    message = lookup_message([Found(PHONE_QUERY, customer)], view)
    assert buttons(message) == {
        ACTION_SHARE: "bik:5482636",
        ACTION_ADDRESSES: "bik:5482636",
        ACTION_REFRESH: "bik:5482636",
    }
    assert "9090909090" not in dump(message)


def test_without_a_bik_id_a_masked_query_gets_no_buttons_at_all():
    customer = mask_customer(_with_addresses(partnerCustomerId="+919090909090"), ALL)
    message = lookup_message([Found(PHONE_QUERY, customer)], View("U1", share_button=True, masked=ALL))
    assert buttons(message) == {}
    assert "9090909090" not in dump(message)


def test_buttons_keep_the_query_when_it_shows_nothing_masked():
    customer = mask_customer(_with_addresses(id=5482636, partnerCustomerId="abcd-122345"), ALL)
    query = Query(Kind.PARTNER, "abcd-122345")
    message = lookup_message([Found(query, customer)], View("U1", share_button=True, masked=ALL))
    assert buttons(message)[ACTION_ADDRESSES] == "partner:abcd-122345"


# -- BIK's own error message -----------------------------------------------------------------------

BIK_SAYS = Rejected("phone 9876543210 is not a valid partner id")
QUERY = Query(Kind.PARTNER, "abcd-122345")


def test_biks_message_is_shown_verbatim_only_to_the_asker_alone_and_unmasked():
    whole = dump(lookup_message([Failed(QUERY, BIK_SAYS)], View("U1")))
    assert "is not a valid partner id" in whole


@pytest.mark.parametrize(
    "view",
    [
        View("U1", response_type="in_channel"),
        View("U1", response_type="in_channel", masked=ALL),
        View("U1", masked=frozenset({"email"})),
        View("U1", response_type="in_channel", shared_by="U2"),
    ],
)
def test_biks_message_is_replaced_where_the_channel_reads_it_or_anything_is_masked(view):
    message = lookup_message([Failed(QUERY, BIK_SAYS)], view)
    whole = dump(message)
    assert "9876543210" not in whole and "not a valid" not in whole
    assert "BIK rejected the lookup of partner id `abcd-122345`" in message["blocks"][0]["text"]["text"]
    assert "BIK rejected the lookup" in message["text"]


def test_error_text_without_a_view_is_the_strict_one():
    text = error_text(Failed(PHONE_QUERY, BIK_SAYS))
    assert "not a valid" not in text and "9090909090" not in text and "+91******9090" in text
    shown = error_text(Failed(PHONE_QUERY, BIK_SAYS), View("U1"))
    assert "not a valid" in shown and "+919090909090" in shown


# -- the audit line --------------------------------------------------------------------------------


class Captured:
    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append(fields)


@pytest.mark.parametrize(
    ("kind", "typed", "logged"),
    [
        ("partner", "+919090909090", "+91******9090"),
        ("partner", "test.2@bik.ai", "t***@bik.ai"),
        ("partner", "abcd-122345", "abcd-122345"),
        ("bik", "5482636", "5482636"),
        ("bik", "9876543210", "9876543210"),  # a BIK id, not a phone
        (None, "+919090909090", "+91******9090"),  # kind unknown: masked
    ],
)
def test_the_audit_line_never_holds_a_phone_or_an_email_as_the_query_id(kind, typed, logged):
    log = Captured()
    Audit(log).record(query_kind=kind, query_id=typed, outcome="found")
    assert log.lines[0]["query_id"] == logged


@given(st.sampled_from(["partner", None]), st.one_of(phones(), emails))
def test_no_query_id_ever_logs_a_phone_or_email(kind, typed):
    log = Captured()
    Audit(log).record(query_kind=kind, query_id=typed)
    logged = log.lines[0]["query_id"]
    assert logged != typed and re.search(r"\d{7}", logged) is None
    assert not (set(find_emails(logged)) & {typed})
