"""What every scenario shares: the stand-ins (BIK, Slack Web API, ``response_url`` receiver), the app
under test as a real process, Slack's request signing, percentiles, and the machine's load.

Everything listens on 127.0.0.1 only. The stand-ins live in the load generator's process (uvloop), so
a send time there and an arrival time at a stand-in are read from the same clock (``perf_counter``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot import sandbox

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"  # a stand-in value: the bench talks only to 127.0.0.1
BIK_TOKEN = "YmVuY2g6YmVuY2g="
CHANNEL = "CBENCH"
DASHBOARD_URL = "https://bik-dashboard.example.com/customers/{bik_id}"
POLICY = f"[channels.{CHANNEL}]\nallow = true\nunfurl = true\n"
COMMAND_POLICY = f"[channels.{CHANNEL}]\nallow = true\n"
"""For trees older than the unfurl setting (the metrics-cost scenario's *before*)."""

EXAMPLE = sandbox.CUSTOMERS[0]  # the documented example customer (BIK id 5482636)
CARD_MARK = f"{EXAMPLE['firstName']} {EXAMPLE['lastName']}".encode()
"""The customer's name: in a view or an unfurl, the card is there (not "Looking up…", not an error)."""


# -- the stand-ins -----------------------------------------------------------------------------------


@dataclass
class ViewCall:
    at: float
    card: bool


@dataclass
class Recorder:
    """What reached the Slack stand-in, with arrival times, for the scenarios to correlate."""

    calls: Counter[str] = field(default_factory=Counter)
    opens: dict[str, float] = field(default_factory=dict)  # trigger_id -> first views.open's arrival
    duplicate_opens: int = 0
    view_trigger: dict[str, str] = field(default_factory=dict)  # view id we answered -> its trigger_id
    updates: dict[str, list[ViewCall]] = field(default_factory=dict)  # trigger_id -> views.update calls
    unknown_updates: int = 0
    unfurls: dict[str, list[ViewCall]] = field(default_factory=dict)  # message ts -> chat.unfurl calls
    tokens: Counter[str] = field(default_factory=Counter)  # calls by bot token (Authorization: Bearer)


class Stands:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.replies: dict[str, list[float]] = {}
        self.bik_calls = 0
        self.bik_by_token: Counter[str] = Counter()
        """BIK calls by credential (the value after ``Basic ``)."""
        self.bik_accept: set[str] | None = None
        """When set, BIK answers 401 (as BIK does) to any other credential; None: any is accepted."""
        self.slack = Recorder()
        self.runner: web.AppRunner | None = None
        self.port = 0
        self._views = 0
        body = json.dumps({"status": 200, "success": True, "data": {"customer": EXAMPLE}})
        self._bik_body = body

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/integrations/bikPlatformFunctions-customers/get", self._bik)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/hooks/{id}", self._hook)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _bik(self, request: web.Request) -> web.Response:
        await request.read()
        self.bik_calls += 1
        given = request.headers.get("Authorization", "").removeprefix("Basic ")
        self.bik_by_token[given] += 1
        await asyncio.sleep(self.latency)
        if self.bik_accept is not None and given not in self.bik_accept:
            return web.json_response({"status": 401, "errors": [{"message": "Unauthorized"}]}, status=401)
        return web.Response(text=self._bik_body, content_type="application/json")

    async def _api(self, request: web.Request) -> web.Response:
        now = time.perf_counter()  # arrival: before the body is read
        body = await request.read()
        method = request.match_info["method"]
        self.slack.calls[method] += 1
        self.slack.tokens[request.headers.get("Authorization", "").removeprefix("Bearer ")] += 1
        params: dict[str, Any] = dict(request.query)
        if body:
            if request.content_type == "application/json":
                params.update(json.loads(body))
            else:
                params.update(parse_qsl(body.decode()))
        answer: dict[str, Any]
        if method == "views.open":
            trigger = str(params.get("trigger_id"))
            if trigger in self.slack.opens:
                self.slack.duplicate_opens += 1
            self.slack.opens.setdefault(trigger, now)
            self._views += 1
            view_id = f"V{self._views:08d}"
            self.slack.view_trigger[view_id] = trigger
            answer = {"ok": True, "view": {"id": view_id}}
        elif method == "views.update":
            view_id = str(params.get("view_id"))
            opened_by = self.slack.view_trigger.get(view_id)
            if opened_by is None:
                self.slack.unknown_updates += 1
            else:
                self.slack.updates.setdefault(opened_by, []).append(ViewCall(now, CARD_MARK in body))
            answer = {"ok": True, "view": {"id": view_id}}
        elif method == "chat.unfurl":
            self.slack.unfurls.setdefault(str(params.get("ts")), []).append(ViewCall(now, CARD_MARK in body))
            answer = {"ok": True}
        elif method == "auth.test":
            answer = {"ok": True, "user_id": "UBOT", "team_id": "T1", "team": "Bench", "user": "bik"}
        elif method == "users.info":
            answer = {
                "ok": True,
                "user": {"id": params.get("user"), "is_restricted": False, "is_ultra_restricted": False},
            }
        elif method == "conversations.info":
            answer = {"ok": True, "channel": {"id": params.get("channel"), "is_ext_shared": False}}
        else:
            answer = {"ok": False, "error": "unknown_method"}
        return web.json_response(answer)

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        now = time.perf_counter()
        if b'"header"' in body:  # a final reply (not a "still looking" note)
            self.replies.setdefault(request.match_info["id"], []).append(now)
        return web.Response(text="ok")


# -- the app under test ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def procfile_web_command(root: Path = ROOT) -> list[str]:
    line = next(ln for ln in (root / "Procfile").read_text().splitlines() if ln.startswith("web:"))
    argv = shlex.split(line.removeprefix("web:").strip())
    return [sys.executable if argv[0] == "python" else argv[0], *argv[1:]]


class AppUnderTest:
    """``kind`` "bot": the Procfile's ``web:`` command run in ``root`` (this checkout, or another
    tree of the repository: the bench's own process never imports the app); "baseline": the
    quickstart-style app under gunicorn. ``argv`` overrides the command (same environment); ``env``
    adds to or overrides the environment, ``unset`` removes variables from it (distribution mode runs
    without ``SLACK_BOT_TOKEN``)."""

    def __init__(
        self,
        kind: str,
        workers: int,
        stands: Stands,
        workdir: Path,
        *,
        root: Path = ROOT,
        argv: list[str] | None = None,
        env: dict[str, str] | None = None,
        label: str | None = None,
        policy_text: str = POLICY,
        unset: tuple[str, ...] = (),
    ) -> None:
        self.kind = kind
        self.label = label or kind
        self.root = root
        self.port = free_port()
        policy = workdir / "access.toml"
        policy.write_text(policy_text)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BIK_", "REDIS_URL"))},
            "PYTHONPATH": str(root),
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": stands.url + "/api/",
            "SLACK_RESPONSE_URL_PREFIXES": stands.url + "/hooks/",
            "BIK_API_BASE_URL": stands.url + "/integrations",
            "BIK_API_TOKEN": BIK_TOKEN,
            "BIK_ACCESS_POLICY": str(policy),
            "BIK_RATE_LIMIT": "1000000/minute",
            "BIK_DASHBOARD_URL": DASHBOARD_URL,
            "LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        for name in unset:
            self.env.pop(name, None)
        if argv is not None:
            self.argv = argv
        elif kind == "bot":
            self.argv = procfile_web_command(root)
        else:
            gunicorn = str(Path(sys.executable).with_name("gunicorn"))
            self.argv = [
                gunicorn,
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "bench.baseline.app:api",
            ]
        self.log = workdir / f"{self.label.replace(' ', '_')}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss: dict[int, int] = {}
        self._sampling = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.root,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited:\n{self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(1.0)  # let every worker finish importing
        self._sampling = True
        threading.Thread(target=self._sample, daemon=True).start()

    def _tree(self) -> list[int]:
        assert self.proc is not None
        pids, frontier = [self.proc.pid], [self.proc.pid]
        parents: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                parents.setdefault(ppid, []).append(int(entry))
        while frontier:
            children = parents.get(frontier.pop(), [])
            pids += children
            frontier += children
        return pids

    def _sample(self) -> None:
        while self._sampling:
            for pid in self._tree():
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            kb = int(line.split()[1])
                            self.peak_rss[pid] = max(self.peak_rss.get(pid, 0), kb)
                except OSError:
                    pass
            time.sleep(0.05)

    def cpu_seconds(self) -> float:
        """User + system CPU of the app's live processes so far (``/proc/<pid>/stat``)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self._tree():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def stop(self) -> None:
        self._sampling = False
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)

    def log_summary(self) -> dict[str, Any]:
        """The app's log (LOG_LEVEL=WARNING): JSON lines counted by level and event; other lines
        (tracebacks, uvicorn's own) counted, with the first few kept."""
        events: Counter[str] = Counter()
        other: list[str] = []
        other_count = 0
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            text = ""
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                entry = None
            if isinstance(entry, dict):
                events[f"{entry.get('level', '?')}:{entry.get('event', '?')}"] += 1
            else:
                other_count += 1
                if len(other) < 5:
                    other.append(line[:200])
        return {"events": dict(events.most_common()), "other_lines": other_count, "other_sample": other}


# -- Slack's signing ---------------------------------------------------------------------------------


def sign(body: bytes, content_type: str) -> dict[str, str]:
    """Headers for ``body`` signed as Slack signs (v0, HMAC-SHA256 over ``v0:<ts>:<body>``)."""
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }


# -- numbers -----------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def dist(values: list[float], *qs: tuple[str, float]) -> dict[str, float]:
    return {k: round(pct(values, q), 1) for k, q in qs}


P50_P99_MAX = (("p50", 50.0), ("p99", 99.0), ("max", 100.0))


class Machine:
    """The machine while a scenario runs: load average before and after, how busy all CPUs were
    (``/proc/stat``) — the bench shares its cores with whatever else runs — and this process's own
    CPU share."""

    def __init__(self) -> None:
        self.load_before = os.getloadavg()
        self._stat = self._read()
        self._bench_cpu, self._wall = time.process_time(), time.perf_counter()

    @staticmethod
    def _read() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields), idle

    def done(self) -> dict[str, Any]:
        total, idle = self._read()
        dt, di = total - self._stat[0], idle - self._stat[1]
        return {
            "load_before": [round(x, 2) for x in self.load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "cpu_busy_pct": round(100 * (dt - di) / dt, 1) if dt else None,
            # The load generator and stand-ins (this process): near 100 % it would be the bottleneck.
            "bench_process_cpu_pct": round(
                100 * (time.process_time() - self._bench_cpu) / max(1e-9, time.perf_counter() - self._wall), 1
            ),
        }
