"""Error mapping of the BIK client, with the network swapped by httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from pydantic import SecretStr

from bot.bik import errors
from bot.bik.client import Backoff, BikClient
from bot.query import Kind, Query

FAST = Backoff(initial=0.01, maximum=0.02, jitter=0.0)
Q = Query(Kind.PARTNER, "abc")


def client(handler, *, timeout=2.0, max_body=4096):
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return BikClient(
        http=http,
        base_url="http://bik.test/integrations/",
        authorization=SecretStr("tok"),
        timeout=timeout,
        backoff=FAST,
        max_body_bytes=max_body,
    )


def answering(*responses):
    calls = []

    async def handler(request):
        calls.append(request)
        item = responses[min(len(calls), len(responses)) - 1]
        if isinstance(item, Exception):
            raise item
        return item

    return handler, calls


def ok(data):
    return httpx.Response(200, json={"status": 200, "success": True, "data": data})


async def test_request_shape_url_and_auth():
    handler, calls = answering(ok({"id": 1}))
    fetched = await client(handler).get_customer(Query(Kind.BIK, "42"))
    [request] = calls
    assert str(request.url) == "http://bik.test/integrations/bikPlatformFunctions-customers/get"
    assert request.headers["authorization"] == "Basic tok"
    assert json.loads(request.content) == {
        "bikCustomerId": "42",
        "includeAssets": True,
        "includeAddress": True,
        "includeTags": True,
    }
    assert fetched.status == 200 and fetched.attempts == 1


@pytest.mark.parametrize(
    ("response", "error", "tries"),
    [
        (httpx.Response(406, json={"status": 406}), errors.NotFound, 1),
        (httpx.Response(400, json={"errors": [{"message": "bad"}]}), errors.Rejected, 1),
        (httpx.Response(401), errors.Unauthorized, 1),
        (httpx.Response(403), errors.Unauthorized, 1),
        (httpx.Response(404, text="<html>"), errors.WrongAddress, 1),
        (httpx.Response(500), errors.Unavailable, 3),
        (httpx.Response(503, text="down"), errors.Unavailable, 3),
        (httpx.Response(429), errors.Unavailable, 3),
        (httpx.Response(418), errors.Unexpected, 1),
        (httpx.Response(200, text="<html>"), errors.Unexpected, 1),
        (httpx.Response(200, json={"success": False}), errors.Unexpected, 1),
        (httpx.Response(200, json={"status": 406, "success": False}), errors.NotFound, 1),
        (httpx.Response(200, json={"status": 500, "success": False}), errors.Unavailable, 3),
        (httpx.Response(200, json={"errors": [{"message": "x"}], "status": 400}), errors.Rejected, 1),
        (httpx.Response(200, json={"data": []}), errors.Unexpected, 1),
        (httpx.ConnectError("refused"), errors.Unavailable, 3),
        (httpx.ReadError("reset"), errors.Unavailable, 3),
        (httpx.RemoteProtocolError("eof"), errors.Unavailable, 3),
    ],
)
async def test_error_mapping_and_retries(response, error, tries):
    handler, calls = answering(response)
    with pytest.raises(error) as caught:
        await client(handler).get_customer(Q)
    assert len(calls) == tries
    assert caught.value.attempts == tries


async def test_rejected_carries_biks_messages_joined():
    handler, _ = answering(httpx.Response(400, json={"errors": [{"message": "a"}, {"message": "b"}, {}]}))
    with pytest.raises(errors.Rejected) as caught:
        await client(handler).get_customer(Q)
    assert caught.value.detail == "a; b"


async def test_error_body_without_errors_still_maps():
    handler, _ = answering(httpx.Response(400, json={"status": 400}))
    with pytest.raises(errors.Rejected, match="no reason given"):
        await client(handler).get_customer(Q)


async def test_transient_failures_then_success_recovers():
    handler, calls = answering(httpx.Response(502), httpx.ConnectError("x"), ok({"id": 1}))
    fetched = await client(handler).get_customer(Q)
    assert fetched.attempts == 3 and len(calls) == 3


async def test_whole_lookup_including_retries_is_time_bounded():
    async def slow(request):
        await asyncio.sleep(0.2)
        return httpx.Response(500)

    started = time.monotonic()
    with pytest.raises(errors.TimedOut):
        await client(slow, timeout=0.3).get_customer(Q)
    assert time.monotonic() - started < 0.5


async def test_budget_shortens_the_bound():
    async def hang(request):
        await asyncio.sleep(5)
        return httpx.Response(200)

    started = time.monotonic()
    with pytest.raises(errors.TimedOut):
        await client(hang, timeout=5).get_customer(Q, budget=0.1)
    assert time.monotonic() - started < 0.5


async def test_body_over_the_cap_is_unexpected():
    handler, _ = answering(httpx.Response(200, content=b"{" + b" " * 10_000 + b"}"))
    with pytest.raises(errors.Unexpected, match="larger than"):
        await client(handler, max_body=4096).get_customer(Q)
