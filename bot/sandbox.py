"""A bundled stand-in for BIK, used only when asked for (``--sandbox``, ``make demo``).

It answers through the real :class:`~bot.bik.client.BikClient` via an injected
:class:`httpx.MockTransport`, so the sandbox exercises the same parsing, retries and rendering as
production. Its customers cover the documented example and the awkward cases a card must survive.

Ids to try: ``abcd-122345`` (the documentation's example, also ``bik:5482636``), ``vip-7``
(tags, contacts, a map link), ``many-addresses`` (60 addresses), ``sparse`` (almost nothing),
``hostile`` (a name that tries to ping ``@channel``), ``5482640`` (a bare number that is a BIK id),
``missing`` (not found), ``sandbox-500`` (BIK failing), ``sandbox-401`` (bad credentials).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

SANDBOX_BASE_URL = "https://bik-sandbox.invalid/integrations"
SANDBOX_TOKEN = "sandbox-token"  # noqa: S105 - not a secret: the sandbox checks only that one is sent


def _example() -> dict[str, Any]:
    return {
        "id": 5482636,
        "partnerCustomerId": "abcd-122345",
        "firstName": "Test",
        "lastName": "Last",
        "phoneNumber": "+919090909090",
        "email": "test.2@bik.ai",
        "countryCode": "IND",
        "createdAt": "2024-08-09T09:32:55.568Z",
        "updatedAt": "2024-08-09T09:33:15.939Z",
        "addresses": [
            {
                "partnerAddressId": "undefined",
                "addressId": 142385,
                "address1": "hsr layout",
                "city": "bangalore",
                "country": "India",
                "countryCode": "IN",
                "state": "karnataka",
                "zip": "560102",
                "isDefault": False,
            }
        ],
        "assets": [
            {
                "id": 4516077,
                "createdAt": "2024-08-09T09:32:55.583Z",
                "assetName": "EMAIL",
                "assetValue": "test.2@bik.ai",
                "countryCode": None,
            },
            {
                "id": 4516079,
                "createdAt": "2024-08-09T09:33:16.284Z",
                "assetName": "PHONE_NUMBER",
                "assetValue": "+919090909090",
                "countryCode": "IND",
            },
        ],
    }


def _many_addresses() -> dict[str, Any]:
    return {
        "id": "5482637",
        "partnerCustomerId": "many-addresses",
        "firstName": "Asha",
        "lastName": "Rao",
        "phoneNumber": "+919812345678",
        "email": "asha.rao@example.com",
        "countryCode": "IND",
        "createdAt": "2023-01-15T10:00:00Z",
        "addresses": [
            {
                "addressId": 900000 + i,
                "address1": f"{i} MG Road",
                "address2": f"Floor {i % 7}",
                "city": "Pune",
                "state": "maharashtra",
                "zip": f"4110{i % 10}{i % 7}",
                "country": "India",
                "isDefault": i == 42,
            }
            for i in range(1, 61)
        ],
        "assets": [],
    }


CUSTOMERS: list[dict[str, Any]] = [
    _example(),
    _many_addresses(),
    {
        "id": 5482638,
        "partnerCustomerId": "vip-7",
        "firstName": "Meera",
        "lastName": "Iyer",
        "phoneNumber": "+14155550123",
        "email": "meera.iyer@example.com",
        "countryCode": "USA",
        "createdAt": "2022-05-01T08:15:00Z",
        "updatedAt": "2026-11-20T18:45:00Z",
        "tags": ["vip", {"name": "wholesale"}, "repeat-buyer"],
        "addresses": [
            {
                "addressId": 77001,
                "address1": "1 Market St",
                "address2": "Suite 400",
                "city": "San Francisco",
                "state": "CA",
                "zip": "94105",
                "country": "United States",
                "latitude": 37.7936,
                "longitude": -122.3958,
                "firstName": "Front",
                "lastName": "Desk",
                "phoneNumber": "+14155550999",
                "isDefault": True,
            },
            {
                "addressId": 77002,
                "address1": "500 Howard St",
                "city": "San Francisco",
                "state": "CA",
                "zip": "94105",
                "country": "United States",
                "isDefault": False,
            },
        ],
        "assets": [
            {
                "id": 1,
                "createdAt": "2024-02-02T10:00:00Z",
                "assetName": "EMAIL",
                "assetValue": "meera@work.example",
            },
            {
                "id": 2,
                "createdAt": "2024-03-03T10:00:00Z",
                "assetName": "PHONE_NUMBER",
                "assetValue": "+14155550188",
            },
        ],
    },
    {
        "id": 5482639,
        "partnerCustomerId": "sparse",
        "firstName": "undefined",
        "email": None,
        "addresses": None,
    },
    {
        "id": 5482641,
        "partnerCustomerId": "hostile",
        "firstName": "<!channel>",
        "lastName": "<https://evil.example|click me> & @here",
        "email": "*bold*@example.com",
        "addresses": [{"address1": "<@U012ABC> street", "city": "Nowhere", "isDefault": "true"}],
        "tags": ["<!subteam^S123>"],
    },
    {"id": 5482640, "partnerCustomerId": "store-77", "firstName": "Numeric", "lastName": "Id"},
]


def _find(payload: dict[str, Any]) -> dict[str, Any] | None:
    partner = payload.get("partnerCustomerId")
    bik = payload.get("bikCustomerId")
    for customer in CUSTOMERS:
        if partner is not None and customer["partnerCustomerId"] == partner:
            return customer
        if bik is not None and str(customer["id"]) == str(bik):
            return customer
    return None


def answer(payload: Any, authorization: str | None) -> tuple[int, dict[str, Any]]:
    """The sandbox's answer to one ``get`` body: (HTTP status, JSON body), in BIK's formats."""
    if not authorization or not authorization.startswith("Basic "):
        return 401, {"status": 401, "errors": [{"message": "Unauthorized"}]}
    if not isinstance(payload, dict):
        return 400, {"status": 400, "errors": [{"message": "Invalid payload"}]}
    keys = [k for k in ("partnerCustomerId", "bikCustomerId") if payload.get(k) not in (None, "")]
    if len(keys) != 1:
        return 400, {"status": 400, "errors": [{"message": "Either partnerCustomerId or bikCustomerId"}]}
    special = str(payload[keys[0]])
    if special == "sandbox-500":
        return 500, {"status": 500, "errors": [{"message": "Internal Server Error"}]}
    if special == "sandbox-401":
        return 401, {"status": 401, "errors": [{"message": "Unauthorized"}]}
    customer = _find(payload)
    if customer is None:
        return 406, {"status": 406, "errors": [{"message": "Customer not found"}]}
    # Alternate the two documented envelopes, so both shapes are exercised.
    data: dict[str, Any] = {"customer": customer} if int(customer["id"]) % 2 == 0 else customer
    return 200, {"status": 200, "success": True, "data": data}


def transport() -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/bikPlatformFunctions-customers/get"):
            return httpx.Response(404, json={"status": 404, "errors": [{"message": "Not Found"}]})
        try:
            payload = json.loads(request.content or b"null")
        except ValueError:
            payload = None
        status, body = answer(payload, request.headers.get("authorization"))
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handle)
