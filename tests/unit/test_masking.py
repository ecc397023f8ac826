from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.bik.models import Customer
from bot.cards import Found, View, lookup_message
from bot.masking import mask_customer, mask_email, mask_phone
from bot.query import Kind, Query
from bot.sandbox import CUSTOMERS


def test_spec_examples():
    assert mask_phone("+919090909090") == "+91******9090"
    assert mask_email("test.2@bik.ai") == "t***@bik.ai"


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+1 (415) 555-0123", "+*******0123"),
        ("9090909090", "******9090"),
        ("+44 20 7946 0958 1", "+44*******9581"),
        ("12345678", "******78"),
        ("12345", "*****"),
        ("12", "****"),
        ("", "****"),
    ],
)
def test_short_phones_reveal_less(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("a@b.c", "***@b.c"),
        ("no-at-sign", "***"),
        ("@x.io", "***"),
        ("_x@y.z", "***@y.z"),
        ("a@b@c.d", "a***@c.d"),
    ],
)
def test_email_edge_cases(email, masked):
    assert mask_email(email) == masked


phones = st.from_regex(r"\+?[0-9 ()-]{0,25}", fullmatch=True)


@given(phones, st.data())
def test_masked_phone_never_depends_on_the_hidden_digits(phone, data):
    """Change any digit the mask hides: the masked value must not change. So no digit run from the
    hidden middle, of any length, can ever leak (the spec's format shows the last four by design)."""
    digits = re.sub(r"\D", "", phone)
    hidden = range(2, len(digits) - 4)
    if not hidden:
        return
    position = data.draw(st.sampled_from(list(hidden)))
    replacement = data.draw(st.sampled_from("0123456789"))
    changed = digits[:position] + replacement + digits[position + 1 :]
    prefix = "+" if phone.lstrip().startswith("+") else ""
    assert mask_phone(prefix + changed) == mask_phone(prefix + digits)


@given(phones)
def test_masked_phone_hides_at_least_half_of_the_digits(phone):
    digits = re.sub(r"\D", "", phone)
    shown = re.sub(r"\D", "", mask_phone(phone))
    assert len(shown) <= len(digits) / 2
    assert shown in (digits[:2] + digits[-4:], digits[-4:], digits[-2:], "")


@given(st.emails())
def test_masked_email_reveals_at_most_the_first_character_of_the_local_part(email):
    local, domain = email.rsplit("@", 1)
    masked_local, _, masked_domain = mask_email(email).rpartition("@")
    assert masked_local in (local[0] + "***", "***")
    assert masked_domain == domain
    if len(local) == 1:
        assert masked_local == "***"  # a one-character local part would be the whole of it


FIELDS = ("phone", "email", "address")


@pytest.mark.parametrize("fields", [{"phone"}, {"email"}, {"address"}, set(FIELDS)])
def test_masked_values_appear_nowhere_in_the_rendered_message(fields):
    record = CUSTOMERS[2]  # phones, emails, contact on the address, coordinates
    customer = Customer.model_validate(record)
    masked = mask_customer(customer, fields)
    message = str(
        lookup_message([Found(Query(Kind.PARTNER, "vip-7"), masked)], View("U1", masked=frozenset(fields)))
    )
    secrets = {
        "phone": ["+14155550123", "4155550123", "+14155550999", "+14155550188", "5550188", "5550999"],
        "email": ["meera.iyer@example.com", "meera.iyer", "meera@work.example", "meera@"],
        "address": ["1 Market St", "Suite 400", "500 Howard St", "94105", "37.79", "-122.39", "Front Desk"],
    }
    for field in fields:
        for secret in secrets[field]:
            assert secret not in message, (field, secret)
    for field in set(FIELDS) - fields:
        assert secrets[field][0] in message  # unmasked fields are still shown


def test_address_mask_keeps_city_state_country():
    customer = mask_customer(Customer.model_validate(CUSTOMERS[2]), {"address"})
    address = customer.addresses[0]
    assert (address.city, address.state, address.country, address.is_default) == (
        "San Francisco",
        "CA",
        "United States",
        True,
    )
    assert address.address1 is None and address.zip is None and address.latitude is None
    assert address.phone_number is None and address.contact_name is None


def test_unknown_asset_types_are_masked_by_their_content():
    customer = Customer.model_validate(
        {
            "id": 1,
            "assets": [
                {"assetName": "WHATSAPP", "assetValue": "+919876543210"},
                {"assetName": "OTHER", "assetValue": "x.y@z.io"},
            ],
        }
    )
    masked = mask_customer(customer, {"phone", "email"})
    assert [a.asset_value for a in masked.assets] == ["+91******3210", "x***@z.io"]


def test_nothing_to_mask_returns_the_same_customer():
    customer = Customer.model_validate(CUSTOMERS[0])
    assert mask_customer(customer, []) is customer
