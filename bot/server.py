"""The connection layer under the app: uvicorn's httptools protocol with the bounds it lacks.

uvicorn (0.54) times a connection out only while it is idle *after* a response (keep-alive). A client
that connects and sends nothing, half a request line, or headers and part of a body holds its socket,
and a file descriptor, for ever. A few thousand of them use up the process's descriptors, and then the
bot cannot open its own connections to BIK and Slack, so real commands fail. Here, per connection:

* a request's headers must be complete within ``header_timeout`` seconds of the connection opening,
  or of the first byte of a later request on a kept-alive connection. Bytes trickling in do not
  extend the deadline;
* its body must be complete within ``body_timeout`` seconds of its headers (Slack's requests are a
  few kB and arrive at once);
* keep-alive between requests is uvicorn's own timeout (``timeout_keep_alive``), unchanged;

and per process, at most ``max_connections`` are open (less when the descriptor limit is low: a
reserve is kept for the bot's own outgoing connections). A new connection over the cap takes the
place of the oldest one that has no request in progress (idle, or headers unfinished), else of the
oldest one still sending a body; when every open connection has a request in progress the new one is
dropped. Half-open sockets therefore cannot crowd out a real request: a real client's request is
complete within milliseconds of connecting, so it is never the oldest one waiting.

uvicorn's own ``limit_concurrency`` is not used: it counts idle and half-open connections too and
answers 503 to every *real* request beyond that count, which would turn the same attack into a
denial of service by design. The cap here also bounds concurrency: a connection runs one request at
a time (uvicorn pauses reading while a pipelined request waits), so requests in progress <= cap.

Connections closed for these reasons are aborted (no response: there is nobody to answer) and
counted; a ``slow_clients_closed`` warning line sums them up a second after the first, then at most
every ``SUMMARY_EVERY`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import resource
import signal
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState
from uvicorn.supervisors.multiprocess import Multiprocess

from bot.config import ConfigError
from bot.logs import get_logger

log = get_logger("bik.server")

Phase = Literal["headers", "body", "busy", "idle"]

FD_RESERVE = 512
"""Descriptors kept for everything but inbound connections: the BIK/response_url pool (200), Bolt's
Slack client, Redis, log files, the listening socket, and a burst of accepts before the cap acts."""
MIN_CAP = 32
SUMMARY_EVERY = 10.0


@dataclass(frozen=True)
class Limits:
    header_timeout: float = 10.0
    body_timeout: float = 15.0
    max_connections: int = 1000


# Internal knobs (tests set them; not user-facing configuration), read here and nowhere else.
_KNOBS: dict[str, tuple[str, type[float] | type[int]]] = {
    "BIK_HEADER_TIMEOUT_SECONDS": ("header_timeout", float),
    "BIK_BODY_TIMEOUT_SECONDS": ("body_timeout", float),
    "BIK_MAX_CONNECTIONS": ("max_connections", int),
}


def limits_from(environ: Mapping[str, str]) -> Limits:
    """The limits, from the internal knobs when set; a malformed one is a one-line ConfigError."""
    values: dict[str, Any] = {}
    for name, (field, kind) in _KNOBS.items():
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        try:
            value = kind(raw)
        except ValueError:
            value = -1
        if not (value > 0 and math.isfinite(value)):
            raise ConfigError(f"configuration: {name} should be a positive {kind.__name__}, got {raw!r}")
        values[field] = value
    return Limits(**values)


def limits() -> Limits:
    return limits_from(os.environ)


def raise_fd_limit() -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (uvicorn's worker processes inherit
    it). Returns (before, after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):  # e.g. above the kernel's nr_open: keep what we have
            return soft, soft
        return soft, target
    return soft, soft


def connection_cap(wanted: int) -> int:
    """``wanted``, lowered so that FD_RESERVE descriptors stay free under the current soft limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(MIN_CAP, min(wanted, soft - FD_RESERVE))


class _Registry:
    """The open connections of one server (one worker process), oldest first."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.cap = connection_cap(limits.max_connections)
        self.open: dict[BoundedHttpToolsProtocol, None] = {}
        self.counts = {"header_timeout": 0, "body_timeout": 0, "evicted": 0, "refused": 0}
        self._summary: asyncio.TimerHandle | None = None
        self._last_summary = -SUMMARY_EVERY

    def admit(self, conn: BoundedHttpToolsProtocol) -> bool:
        if len(self.open) >= self.cap:
            victim = self._victim()
            if victim is None:
                self.note("refused", conn.loop)
                return False
            self.note("evicted", conn.loop)
            victim.drop()
        self.open[conn] = None
        return True

    def _victim(self) -> BoundedHttpToolsProtocol | None:
        sending_body = None
        for conn in self.open:  # oldest first
            rank = conn.eviction_rank()
            if rank == 0:
                return conn
            if rank == 1 and sending_body is None:
                sending_body = conn
        return sending_body

    def forget(self, conn: BoundedHttpToolsProtocol) -> None:
        self.open.pop(conn, None)

    def note(self, reason: str, loop: asyncio.AbstractEventLoop) -> None:
        self.counts[reason] += 1
        if self._summary is None:  # soon after the first, then at most every SUMMARY_EVERY seconds
            delay = max(1.0, self._last_summary + SUMMARY_EVERY - loop.time())
            self._summary = loop.call_later(delay, self.summarise, loop)

    def summarise(self, loop: asyncio.AbstractEventLoop) -> None:
        self._summary = None
        self._last_summary = loop.time()
        counts, self.counts = self.counts, dict.fromkeys(self.counts, 0)
        log.warning("slow_clients_closed", open=len(self.open), cap=self.cap, **counts)


_registries: weakref.WeakKeyDictionary[ServerState, _Registry] = weakref.WeakKeyDictionary()


def _registry(server_state: ServerState) -> _Registry:
    registry = _registries.get(server_state)
    if registry is None:
        registry = _registries[server_state] = _Registry(limits())
    return registry


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's ``HttpToolsProtocol`` plus header and body deadlines and the per-process cap.

    ``_phase`` is what the connection waits for: ``headers`` (from the connection or the first byte
    of a request), ``body`` (headers in, body not yet complete), ``busy`` (the app is answering; no
    deadline on the client) or ``idle`` (between requests: uvicorn's keep-alive timer applies).
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._registry = _registry(server_state)
        self._phase: Phase = "headers"
        self._deadline: asyncio.TimerHandle | None = None

    # -- the connection ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self._registry.admit(self):
            transport.abort()
            return
        self._enter("headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        self._registry.forget(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase == "idle":  # the first byte of the next request (even a stray CRLF)
            self._enter("headers")
        super().data_received(data)

    def drop(self) -> None:
        self._cancel_deadline()
        self._registry.forget(self)
        if not self.transport.is_closing():
            self.transport.abort()

    def eviction_rank(self) -> int | None:
        """0: waiting for a request (idle or headers unfinished); 1: still sending a body; None:
        the app is answering a request."""
        in_progress = self.cycle is not None and not self.cycle.response_complete
        if self._phase == "idle" or (self._phase == "headers" and not in_progress):
            return 0
        if self._phase == "body":
            return 1
        return None

    # -- httptools' parser callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._phase == "busy":  # a pipelined request behind one in progress
            self._enter("headers")

    def on_headers_complete(self) -> None:
        self._cancel_deadline()
        super().on_headers_complete()
        if not self.transport.is_closing():
            self._enter("body")

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if self.cycle is not None and self.cycle.response_complete:
            # The app answered before the body finished (e.g. a rejected request). The remaining
            # body bytes cancelled uvicorn's keep-alive timer and nothing would re-arm it: do so.
            self._enter("idle")
            if self.timeout_keep_alive_task is None and not self.transport.is_closing():
                self.timeout_keep_alive_task = self.loop.call_later(
                    self.timeout_keep_alive, self.timeout_keep_alive_handler
                )
        else:
            self._enter("busy")

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # uvicorn armed its keep-alive timer: between requests. (Not when it started a pipelined
        # request, nor while the body of the answered request is still arriving.)
        if self.timeout_keep_alive_task is not None and self._phase != "body":
            self._enter("idle")

    # -- deadlines ---------------------------------------------------------------------------------

    def _enter(self, phase: Phase) -> None:
        if phase == self._phase and self._deadline is not None:
            return  # headers of the same request: the deadline stands
        self._cancel_deadline()
        self._phase = phase
        if phase == "headers":
            self._deadline = self.loop.call_later(self._registry.limits.header_timeout, self._expire)
        elif phase == "body":
            self._deadline = self.loop.call_later(self._registry.limits.body_timeout, self._expire)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        self._registry.note("header_timeout" if self._phase == "headers" else "body_timeout", self.loop)
        self.drop()


class ReloadingMultiprocess(Multiprocess):
    """uvicorn's worker supervisor, except on SIGHUP: uvicorn restarts every worker, which drops
    nothing but is no reload; here the signal is passed on to each worker, which reads the access
    policy again in place (``bot.policy_reload``). A worker still starting has no SIGHUP handler
    yet and would die of it; the supervisor then starts a new one, which reads the new file."""

    def handle_hup(self) -> None:
        log.info("sighup", forwarded_to=len(self.processes))
        for process in self.processes:
            if process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGHUP)
