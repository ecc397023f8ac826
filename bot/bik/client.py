"""The one upstream call: POST {base}/bikPlatformFunctions-customers/get.

One :class:`httpx.AsyncClient` per process is injected (its transport too: tests and the sandbox swap
the network without patching). Transient failures (5xx, 429, connection errors) are retried with
jittered exponential backoff by tenacity, at most 3 tries in all, and the whole lookup, retries
included, is bounded by ``timeout`` seconds. Every other answer maps to one typed error.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from bot.bik.errors import (
    BikError,
    NotFound,
    Rejected,
    TimedOut,
    Unauthorized,
    Unavailable,
    Unexpected,
    WrongAddress,
)
from bot.bik.models import Customer, UnexpectedShape, parse_customer
from bot.metrics import METRICS
from bot.query import Kind, Query

GET_CUSTOMER_PATH = "/bikPlatformFunctions-customers/get"
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Fetched:
    customer: Customer
    status: int
    attempts: int


@dataclass(frozen=True, slots=True)
class Backoff:
    initial: float = 0.2
    maximum: float = 2.0
    jitter: float = 0.2


class BikClient:
    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        base_url: str,
        authorization: SecretStr,
        timeout: float,
        backoff: Backoff = Backoff(),
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + GET_CUSTOMER_PATH
        self._authorization = authorization
        self._timeout = timeout
        self._backoff = backoff
        self._max_body = max_body_bytes

    @property
    def url(self) -> str:
        return self._url

    @property
    def timeout(self) -> float:
        return self._timeout

    async def get_customer(self, query: Query, *, budget: float | None = None) -> Fetched:
        """Fetch one customer, or raise a :class:`BikError` subclass (with ``attempts`` set).

        ``budget`` (seconds) shortens the bound when the caller already spent part of it. Each call
        is timed and counted by outcome, each retry counted (``bot.metrics``).
        """
        started = time.monotonic()
        outcome = "error"
        try:
            fetched = await self._get_customer(query, budget)
            outcome = "found"
            return fetched
        except BikError as exc:
            outcome = exc.kind
            raise
        finally:
            METRICS.bik_call(outcome, time.monotonic() - started)

    async def _get_customer(self, query: Query, budget: float | None) -> Fetched:
        attempts = 0
        bound = self._timeout if budget is None else max(0.0, min(budget, self._timeout))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(MAX_ATTEMPTS),
            wait=wait_exponential_jitter(
                multiplier=self._backoff.initial, max=self._backoff.maximum, jitter=self._backoff.jitter
            ),
            retry=retry_if_exception_type(Unavailable),
            reraise=True,
        )
        try:
            async with asyncio.timeout(bound):
                async for attempt in retrying:
                    with attempt:
                        attempts = attempt.retry_state.attempt_number
                        if attempts > 1:
                            METRICS.bik_retry()
                        customer, status = await self._post(query)
                        return Fetched(customer, status, attempts)
        except TimeoutError:
            raise TimedOut(f"no answer within {bound:g} s", attempts=attempts) from None
        except BikError as exc:
            exc.attempts = attempts
            raise
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    async def _post(self, query: Query) -> tuple[Customer, int]:
        key = "partnerCustomerId" if query.kind is Kind.PARTNER else "bikCustomerId"
        payload = {key: query.value, "includeAssets": True, "includeAddress": True, "includeTags": True}
        headers = {"Authorization": f"Basic {self._authorization.get_secret_value()}"}
        try:
            async with self._http.stream("POST", self._url, json=payload, headers=headers) as response:
                status = response.status_code
                raw = await self._read_capped(response)
        except httpx.TransportError as exc:
            raise Unavailable(f"connection failed: {type(exc).__name__}") from None
        except httpx.RequestError as exc:
            raise Unexpected(f"unreadable answer: {type(exc).__name__}") from None
        return _interpret(status, raw), status

    async def _read_capped(self, response: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_body:
                raise Unexpected(f"answer larger than {self._max_body} bytes", status=response.status_code)
            chunks.append(chunk)
        return b"".join(chunks)


def _interpret(status: int, raw: bytes) -> Customer:
    body = _json_or_none(raw)
    if status == 200:
        if body is None:
            raise Unexpected("answer is not JSON", status=status)
        error_status = _embedded_error_status(body)
        if error_status == 0:
            raise Unexpected("success is false with no error status", status=status)
        if error_status is not None:
            _raise_for(error_status, body)
        try:
            return parse_customer(body)
        except UnexpectedShape as exc:
            raise Unexpected(str(exc), status=status) from None
    _raise_for(status, body)
    raise AssertionError("unreachable")  # pragma: no cover


def _raise_for(status: int, body: Any) -> None:
    if status == 406:
        raise NotFound(status=status)
    if status == 400:
        raise Rejected(_bik_message(body) or "no reason given", status=status)
    if status in (401, 403):
        raise Unauthorized(_bik_message(body) or "", status=status)
    if status == 404:
        raise WrongAddress(status=status)
    if status == 429 or status >= 500:
        raise Unavailable(f"HTTP {status}", status=status)
    raise Unexpected(f"HTTP {status}", status=status)


def _embedded_error_status(body: Any) -> int | None:
    """BIK may answer 200 with ``success: false`` and the real status inside the body.

    None: a success. 0: a failure that names no status (reported as an unexpected answer).
    """
    if not isinstance(body, dict):
        return None
    inner = body.get("status")
    if isinstance(inner, int) and not isinstance(inner, bool) and inner >= 400:
        return inner
    if body.get("success") is False or ("errors" in body and "data" not in body):
        return 0
    return None


def _bik_message(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    errors = body.get("errors")
    messages: list[str] = []
    if isinstance(errors, list):
        for item in errors:
            text = item.get("message") if isinstance(item, dict) else item
            if isinstance(text, str) and text.strip():
                messages.append(text.strip())
    elif isinstance(body.get("message"), str):
        messages.append(body["message"].strip())
    joined = "; ".join(messages)
    return joined[:300] or None


def _json_or_none(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # nesting deeper than Python recurses
        return None
