from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.bik.models import Customer, UnexpectedShape, parse_customer
from bot.sandbox import CUSTOMERS

EXAMPLE = CUSTOMERS[0]


def test_documented_example_nested_under_data_customer():
    customer = parse_customer({"status": 200, "success": True, "data": {"customer": EXAMPLE}})
    assert customer.id == "5482636"  # a number in the example, a string in the table
    assert customer.full_name == "Test Last"
    assert customer.created_at == datetime(2024, 8, 9, 9, 32, 55, 568000, tzinfo=UTC)
    [address] = customer.addresses
    assert address.partner_address_id is None  # "undefined"
    assert address.address_id == "142385"
    assert address.is_default is False
    assert [a.asset_name for a in customer.assets] == ["EMAIL", "PHONE_NUMBER"]
    assert customer.assets[0].country_code is None  # null


def test_customer_directly_under_data_as_the_table_says():
    customer = parse_customer({"status": 200, "success": True, "data": EXAMPLE})
    assert customer.partner_customer_id == "abcd-122345"


@pytest.mark.parametrize("absent", [None, "", "  ", "undefined", "null", "None", "NaN"])
def test_absent_values_become_none(absent):
    customer = Customer.model_validate({"id": 1, "firstName": absent, "email": absent, "addresses": None})
    assert customer.first_name is None and customer.email is None and customer.addresses == []
    assert customer.full_name is None


def test_unknown_fields_are_ignored_and_tags_read_in_either_form():
    customer = Customer.model_validate(
        {"id": 1, "brandNew": {"x": 1}, "tags": ["vip", {"name": "wholesale"}, {"tag": "b2b"}, 7, None, {}]}
    )
    assert customer.tags == ["vip", "wholesale", "b2b", "7"]


def test_bad_dates_and_coordinates_become_absent_not_errors():
    customer = Customer.model_validate(
        {
            "id": 1,
            "createdAt": "yesterday",
            "updatedAt": 1723195975568,
            "addresses": [{"latitude": "200", "longitude": "x"}, {"latitude": "12.9", "longitude": 77.6}],
        }
    )
    assert customer.created_at is None
    assert customer.updated_at == datetime.fromtimestamp(1723195975.568, tz=UTC)
    assert customer.addresses[0].latitude is None and customer.addresses[0].longitude is None
    assert customer.addresses[1].latitude == 12.9


def test_is_default_accepts_strings_and_default_sorts_first():
    customer = Customer.model_validate(
        {
            "id": 1,
            "addresses": [{"city": "a"}, {"city": "b", "isDefault": "true"}, {"city": "c", "isDefault": 1}],
        }
    )
    assert [a.city for a in customer.addresses_default_first] == ["b", "c", "a"]


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "text",
        {"data": None},
        {"data": []},
        {"data": {}},
        {"data": {"customer": {}}},
        {"data": {"id": 1, "addresses": "nope"}},
        {"data": {"id": 1, "assets": [1, 2]}},
        {"data": {"id": 1, "firstName": {"a": 1}}},
    ],
)
def test_wrong_shapes_raise_unexpected_shape(body):
    with pytest.raises(UnexpectedShape):
        parse_customer(body)


def test_unexpected_shape_message_never_holds_values():
    with pytest.raises(UnexpectedShape) as caught:
        parse_customer({"data": {"id": 1, "email": ["secret@example.com"]}})
    assert "secret" not in str(caught.value)
    assert "email" in str(caught.value)
