"""Slow and half-open clients against the real process (``python -m bot serve``): connections that
never finish their headers or their body are closed within a bound, their number per process is
capped without starving real requests, and a signed command is answered while they are open."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.botserver import SlackClient
from tests.fakes.process import BotProcess, stand_in_env

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.5
MARGIN = 1.5  # a loaded 2-core machine: timers fire late, never early
PARTIAL_HEADERS = b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nX-Slack-Signature: v0="
SLOW_BODY = (
    b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\ntoken="
)


def events(logs: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in logs.splitlines() if line.startswith("{")]


def assert_no_errors_but_disconnects(logs: str) -> None:
    """The app may log a request whose client went away mid-body (its concern, not the connection
    layer's); nothing else may fail."""
    for event in events(logs):
        if event["level"] in ("error", "critical"):
            assert "ClientDisconnect" in event.get("exception", ""), event


def closed_count(process: BotProcess, reason: str) -> int:
    """What the ``slow_clients_closed`` summary lines say was closed for ``reason``."""
    return sum(e[reason] for e in events(process.logs()) if e.get("event") == "slow_clients_closed")


def start(bik, slack, tmp_path: Path, **knobs: str) -> BotProcess:
    return BotProcess(stand_in_env(bik, slack, tmp_path, **knobs), cwd=tmp_path).start()


def open_fds(process: BotProcess) -> int:
    assert process.proc is not None
    return len(os.listdir(f"/proc/{process.proc.pid}/fd"))


def connect(port: int, first: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(first)
    sock.setblocking(False)
    return sock


def health_on(sock: socket.socket) -> bytes:
    """GET /healthz on an open connection, and its whole response (headers, then Content-Length bytes)."""
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"closed by the server after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    [length] = [int(h[15:]) for h in head.lower().split(b"\r\n") if h.startswith(b"content-length:")]
    while len(body) < length:
        chunk = sock.recv(4096)
        assert chunk, "closed by the server mid-body"
        body += chunk
    return head + b"\r\n\r\n" + body


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(4096) == b""  # the server sends nothing before closing
    except BlockingIOError:
        return False
    except OSError:  # reset
        return True


class Watch:
    """Sockets and the moment each was seen closed by the server."""

    def __init__(self) -> None:
        self.opened: dict[socket.socket, float] = {}
        self.closed: dict[socket.socket, float] = {}

    def add(self, sock: socket.socket) -> socket.socket:
        self.opened[sock] = time.monotonic()
        return sock

    def poll(self) -> None:
        for sock in self.opened:
            if sock not in self.closed and closed_by_server(sock):
                self.closed[sock] = time.monotonic()

    def drip(self, socks: list[socket.socket], data: bytes = b"a") -> None:
        """One more byte on each still-open socket: progress must not reset the deadline."""
        for sock in socks:
            if sock not in self.closed:
                try:
                    sock.send(data)
                except OSError:
                    self.closed[sock] = time.monotonic()

    def wait_all_closed(self, socks: list[socket.socket], within: float, drip: list[socket.socket]) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and any(s not in self.closed for s in socks):
            self.drip(drip)
            time.sleep(0.2)
            self.poll()

    def lifetimes(self, socks: list[socket.socket]) -> list[float]:
        return [self.closed[s] - self.opened[s] for s in socks]

    def close_all(self) -> None:
        for sock in self.opened:
            sock.close()


def test_half_open_connections_are_closed_in_time_while_real_commands_are_answered(bik, slack, tmp_path):
    process = start(
        bik,
        slack,
        tmp_path,
        BIK_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
        BIK_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
    )
    watch = Watch()
    try:
        # A keep-alive connection that answered once: idle is governed by keep-alive (65 s), not by
        # the header timeout, so it outlives the attack and serves a second request afterwards.
        keep = socket.create_connection(("127.0.0.1", process.port), timeout=5)
        assert health_on(keep).startswith(b"HTTP/1.1 200")
        baseline = open_fds(process)

        partial = [watch.add(connect(process.port, PARTIAL_HEADERS)) for _ in range(400)]
        silent = [watch.add(connect(process.port, b"")) for _ in range(50)]
        slow_body = [watch.add(connect(process.port, SLOW_BODY)) for _ in range(50)]
        attackers = partial + silent + slow_body
        time.sleep(0.2)
        assert open_fds(process) >= baseline + 450  # they are open, server side

        started = time.monotonic()
        reply = SlackClient(process.url).command("abcd-122345", response_url=slack.new_hook())
        assert reply.status_code == 200
        assert reply.json()["blocks"][0]["text"]["text"] == "Test Last"
        assert time.monotonic() - started < HEADER_TIMEOUT  # answered while the others were open

        dripping = partial[:20] + slow_body[:20]
        watch.wait_all_closed(attackers, within=BODY_TIMEOUT + MARGIN + 1, drip=dripping)
        still_open = [s for s in attackers if s not in watch.closed]
        assert still_open == [], f"{len(still_open)} of {len(attackers)} slow connections still open"

        headers_lived = watch.lifetimes(partial + silent)
        body_lived = watch.lifetimes(slow_body)
        assert min(headers_lived) >= HEADER_TIMEOUT - 0.3, min(headers_lived)  # closed by the timer
        assert max(headers_lived) <= HEADER_TIMEOUT + MARGIN, max(headers_lived)
        assert min(body_lived) >= BODY_TIMEOUT - 0.3, min(body_lived)
        assert max(body_lived) <= BODY_TIMEOUT + MARGIN, max(body_lived)
        assert open_fds(process) <= baseline + 2

        time.sleep(0.5)  # the keep-alive connection has now been idle for well over the header timeout
        assert health_on(keep).startswith(b"HTTP/1.1 200")
        keep.close()
        deadline = time.monotonic() + 5  # the summary line follows the first closure by a second
        while closed_count(process, "body_timeout") < len(slow_body) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        watch.close_all()
        process.kill()
    assert_no_errors_but_disconnects(process.logs())
    assert closed_count(process, "header_timeout") == len(partial + silent)
    assert closed_count(process, "body_timeout") == len(slow_body)


def test_over_the_connection_cap_the_oldest_waiting_connections_go_first(bik, slack, tmp_path):
    cap = 60
    process = start(bik, slack, tmp_path, BIK_MAX_CONNECTIONS=str(cap), BIK_HEADER_TIMEOUT_SECONDS="30")
    watch = Watch()
    try:
        # One command first, so the bot's own outgoing connections (BIK's pool, kept alive) are in the
        # baseline: the cap is about inbound connections.
        warm = SlackClient(process.url)
        assert warm.command("abcd-122345", response_url=slack.new_hook()).status_code == 200
        warm.http.close()
        baseline = open_fds(process)
        partial = [watch.add(connect(process.port, PARTIAL_HEADERS)) for _ in range(300)]
        time.sleep(0.3)
        watch.poll()
        assert open_fds(process) <= baseline + cap
        assert all(s in watch.closed for s in partial[:200])  # the oldest were dropped for newer ones

        for _ in range(3):  # real commands still get through, each on a fresh connection
            client = SlackClient(process.url)
            reply = client.command("abcd-122345", response_url=slack.new_hook())
            assert reply.status_code == 200
            assert reply.json()["blocks"][0]["text"]["text"] == "Test Last"
            client.http.close()
        assert open_fds(process) <= baseline + cap
    finally:
        watch.close_all()
        process.kill()
    assert_no_errors_but_disconnects(process.logs())


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_malformed_knob_stops_serve_with_one_line(bik, slack, tmp_path, value):
    process = BotProcess(stand_in_env(bik, slack, tmp_path, BIK_HEADER_TIMEOUT_SECONDS=value), cwd=tmp_path)
    process.launch()
    assert process.proc is not None
    assert process.proc.wait(20) == 2
    assert "BIK_HEADER_TIMEOUT_SECONDS" in process.logs()
