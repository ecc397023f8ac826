"""A local HTTP stand-in for BIK's get-customer endpoint, scriptable per request.

By default it answers like the sandbox (the same customers, BIK's formats). ``script(id, ...)``
queues behaviours for the next requests about that id (``"*"``: any id): a status with a body,
a hang, a slow drip, HTML, a reset connection, a huge body. Every request is recorded.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot import sandbox
from tests.fakes.threaded import ThreadedServer

Behaviour = Callable[[web.Request, dict[str, Any]], Awaitable[web.StreamResponse]]
PATH = "/integrations/bikPlatformFunctions-customers/get"


@dataclass
class Seen:
    body: Any
    headers: dict[str, str]

    @property
    def key(self) -> str | None:
        if isinstance(self.body, dict):
            value = self.body.get("partnerCustomerId", self.body.get("bikCustomerId"))
            return None if value is None else str(value)
        return None


def status(code: int, body: Any = None) -> Behaviour:
    async def run(request: web.Request, payload: dict[str, Any]) -> web.StreamResponse:
        return web.json_response(body if body is not None else {"status": code}, status=code)

    return run


def raw(code: int, text: str, content_type: str = "text/html") -> Behaviour:
    async def run(request: web.Request, payload: dict[str, Any]) -> web.StreamResponse:
        return web.Response(status=code, text=text, content_type=content_type)

    return run


def hang(seconds: float = 60) -> Behaviour:
    async def run(request: web.Request, payload: dict[str, Any]) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.json_response({"status": 500}, status=500)

    return run


def delay(seconds: float, then: Behaviour | None = None) -> Behaviour:
    async def run(request: web.Request, payload: dict[str, Any]) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return await (then or default)(request, payload)

    return run


def reset() -> Behaviour:
    """Send headers and part of the body, then drop the connection."""

    async def run(request: web.Request, payload: dict[str, Any]) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b'{"status": 200, "succ')
        assert request.transport is not None
        request.transport.close()
        return response

    return run


def drip(seconds_per_byte: float, body: bytes = b'{"status": 200, "success": true, "data": {}}') -> Behaviour:
    async def run(request: web.Request, payload: dict[str, Any]) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            for byte in body:
                await response.write(bytes([byte]))
                await asyncio.sleep(seconds_per_byte)
        except (ConnectionError, RuntimeError):
            pass  # the client gave up waiting, as it should
        return response

    return run


def huge(megabytes: int) -> Behaviour:
    async def run(request: web.Request, payload: dict[str, Any]) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        chunk = b" " * 65536
        try:
            for _ in range(megabytes * 16):
                await response.write(chunk)
        except (ConnectionError, RuntimeError):
            pass  # the client gave up reading, as it should
        return response

    return run


def customer(record: dict[str, Any], *, nested: bool = True) -> Behaviour:
    data = {"customer": record} if nested else record
    return status(200, {"status": 200, "success": True, "data": data})


async def default(request: web.Request, payload: dict[str, Any]) -> web.StreamResponse:
    code, body = sandbox.answer(payload, request.headers.get("Authorization"))
    return web.json_response(body, status=code)


class FakeBik:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: list[Seen] = []
        self._scripts: dict[str, deque[Behaviour]] = defaultdict(deque)
        self.latency = 0.0
        self._chaos: tuple[random.Random, int, int, int] | None = None
        self._block: list[str] = []
        self.served: Counter[str] = Counter()
        app = web.Application(client_max_size=1024**2)
        app.router.add_post(PATH, self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self.server = ThreadedServer(app)

    def start(self) -> FakeBik:
        self.server.start()
        return self

    @property
    def base_url(self) -> str:
        return self.server.url + "/integrations"

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._scripts.clear()
            self.latency = 0.0
            self._chaos = None
            self.served = Counter()
            self.accepted: set[str] | None = None

    def chaos(self, *, seed: int, error_5xx: int, hang_rate: int, malformed: int) -> None:
        """Unscripted requests fail at exact rates, in percent: every block of 100 requests holds
        ``error_5xx`` 5xx answers, ``hang_rate`` hangs and ``malformed`` broken 200 bodies, at
        positions shuffled with ``seed``; the others get the documented example for any id."""
        with self._lock:
            self._chaos = (random.Random(seed), error_5xx, hang_rate, malformed)
            self._block = []

    def _pick(self) -> Behaviour:
        if self._chaos is None:
            return default
        rng, error_5xx, hang_rate, malformed = self._chaos
        if not self._block:
            self._block = ["5xx"] * error_5xx + ["hang"] * hang_rate + ["malformed"] * malformed
            self._block += ["ok"] * (100 - len(self._block))
            rng.shuffle(self._block)
        kind = self._block.pop()
        self.served[kind] += 1
        if kind == "5xx":
            return status(rng.choice([500, 502, 503]))
        if kind == "hang":
            return hang(60)
        if kind == "malformed":
            return raw(200, '{"status": 200, "success": true, "data": {', "application/json")
        return customer(sandbox.CUSTOMERS[0])

    def only_accept(self, *authorizations: str) -> None:
        """Answer 401 ("Invalid API credentials") to any request whose ``Authorization: Basic <value>``
        is not one of these: several workspaces, each with its own BIK credentials."""
        with self._lock:
            self.accepted = set(authorizations)

    def authorizations(self, key: str | None = None) -> list[str]:
        """The ``Basic`` value of every request (about ``key``), in order."""
        with self._lock:
            return [
                r.headers.get("Authorization", "").removeprefix("Basic ")
                for r in self.requests
                if key is None or r.key == key
            ]

    def script(self, key: str, *behaviours: Behaviour) -> None:
        with self._lock:
            self._scripts[key].extend(behaviours)

    def count(self, key: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if key is None or r.key == key)

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"status": 404, "errors": [{"message": "Not Found"}]}, status=404)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_body = await request.read()
        try:
            payload = json.loads(raw_body)
        except ValueError:
            payload = None
        seen = Seen(payload, dict(request.headers))
        with self._lock:
            self.requests.append(seen)
            queue = self._scripts.get(seen.key or "") or self._scripts.get("*")
            behaviour = queue.popleft() if queue else self._pick()
            given = request.headers.get("Authorization", "").removeprefix("Basic ")
            if self.accepted is not None and given not in self.accepted:
                behaviour = status(401, {"status": 401, "errors": [{"message": "Invalid API credentials"}]})
        if self.latency:
            await asyncio.sleep(self.latency)
        return await behaviour(request, payload if isinstance(payload, dict) else {})
