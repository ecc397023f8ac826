"""``make bench``: load the real app (the Procfile's ``web:`` command) and the quickstart-style baseline
with Slack-signed slash commands, against a local BIK stand-in of fixed latency, and report ack
latency, time to final reply, overhead, lost replies, throughput and peak RSS — as a table and JSON.

Everything runs on 127.0.0.1. This process hosts the stand-ins (BIK, Slack Web API, response_url
receiver) and the load generator on uvloop; the app under test runs in its own process(es).

    .venv/bin/python -m bench [--latency 0.25] [--only bot|baseline] [--scenarios steady,burst,workers]
"""

from __future__ import annotations

import argparse
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
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import uvloop
from aiohttp import web

from bot import sandbox

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"  # a stand-in value: the bench talks only to 127.0.0.1
BIK_TOKEN = "YmVuY2g6YmVuY2g="
DEADLINE = 3.0  # Slack's acknowledgement deadline
USERS = 50  # a support team's worth of distinct askers


@dataclass(frozen=True)
class Scenario:
    name: str
    commands: int
    rate: float | None  # commands per second; None: all at once
    workers: int

    @property
    def label(self) -> str:
        how = f"{self.rate:g}/s for {self.commands / self.rate:g} s" if self.rate else "all at once"
        return f"{self.name}: {self.commands} commands, {how}, {self.workers} worker(s)"


SCENARIOS = {
    "steady": Scenario("steady", 500, 50, 1),
    "burst": Scenario("burst", 400, None, 1),
    "workers": Scenario("workers", 1000, 100, 2),
}


# -- stand-ins ---------------------------------------------------------------------------------------

EXAMPLE = sandbox.CUSTOMERS[0]  # the documented example customer


class Stands:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.replies: dict[str, list[float]] = {}
        self.bik_calls = 0
        self.runner: web.AppRunner | None = None
        self.port = 0
        body = json.dumps({"status": 200, "success": True, "data": {"customer": EXAMPLE}})
        self._bik_body = body

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/integrations/bikPlatformFunctions-customers/get", self._bik)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/hooks/{id}", self._hook)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _bik(self, request: web.Request) -> web.Response:
        await request.read()
        self.bik_calls += 1
        await asyncio.sleep(self.latency)
        return web.Response(text=self._bik_body, content_type="application/json")

    async def _api(self, request: web.Request) -> web.Response:
        await request.read()
        method = request.match_info["method"]
        answers: dict[str, Any] = {
            "auth.test": {"ok": True, "user_id": "UBOT", "team_id": "T1", "team": "Bench", "user": "bik"},
            "users.info": {
                "ok": True,
                "user": {"id": "U", "is_restricted": False, "is_ultra_restricted": False},
            },
            "conversations.info": {"ok": True, "channel": {"is_ext_shared": False}},
        }
        return web.json_response(answers.get(method, {"ok": False, "error": "unknown_method"}))

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


def procfile_web_command() -> list[str]:
    line = next(ln for ln in (ROOT / "Procfile").read_text().splitlines() if ln.startswith("web:"))
    argv = shlex.split(line.removeprefix("web:").strip())
    return [sys.executable if argv[0] == "python" else argv[0], *argv[1:]]


class AppUnderTest:
    def __init__(self, kind: str, workers: int, stands: Stands, workdir: Path) -> None:
        self.kind = kind
        self.port = free_port()
        policy = workdir / "access.toml"
        policy.write_text("[channels.CBENCH]\nallow = true\n")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BIK_", "REDIS_URL"))},
            "PYTHONPATH": str(ROOT),
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": stands.url + "/api/",
            "BIK_API_BASE_URL": stands.url + "/integrations",
            "BIK_API_TOKEN": BIK_TOKEN,
            "BIK_ACCESS_POLICY": str(policy),
            "BIK_RATE_LIMIT": "1000000/minute",
            "LOG_LEVEL": "WARNING",
        }
        if kind == "bot":
            self.argv = procfile_web_command()
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
        self.log = workdir / f"{kind}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss: dict[int, int] = {}
        self._sampling = False

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=ROOT,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited:\n{self.log.read_text()}")
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

    def stop(self) -> None:
        self._sampling = False
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


# -- load ------------------------------------------------------------------------------------------


@dataclass
class Sample:
    sent: float
    ack: float | None = None
    status: int | None = None
    final: float | None = None
    in_ack: bool = False
    error: str | None = None


@dataclass
class Outcome:
    samples: list[Sample] = field(default_factory=list)
    last_sent: float = 0.0
    duplicates: int = 0


def signed(form: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    body = urlencode(form)
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }
    return body.encode(), headers


async def run_load(app_url: str, stands: Stands, scenario: Scenario, tag: str) -> Outcome:
    outcome = Outcome()
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def send(i: int) -> None:
            hook = f"{tag}-{i}"
            body, headers = signed(
                {
                    "team_id": "T1",
                    "channel_id": "CBENCH",
                    "channel_name": "bench",
                    "user_id": f"U{i % USERS:05d}",
                    "command": "/bik-customer",
                    "text": f"bench-{tag}-{i}",
                    "response_url": f"{stands.url}/hooks/{hook}",
                    "trigger_id": "1.1.1",
                    "api_app_id": "A1",
                }
            )
            sample = Sample(sent=time.perf_counter())
            outcome.samples.append(sample)
            try:
                async with session.post(app_url + "/slack/events", data=body, headers=headers) as response:
                    payload = await response.read()
                    sample.ack, sample.status = time.perf_counter(), response.status
            except Exception as exc:
                sample.error = type(exc).__name__
                return
            if sample.status == 200 and b'"header"' in payload:
                sample.final, sample.in_ack = sample.ack, True

        tasks = []
        start = time.perf_counter()
        for i in range(scenario.commands):
            if scenario.rate:
                delay = start + i / scenario.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(send(i)))
        outcome.last_sent = time.perf_counter()
        await asyncio.gather(*tasks)

    # Replies that went through response_url: wait for them (bounded).
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        pending = [i for i, s in enumerate(outcome.samples) if s.final is None and s.error is None]
        if all(f"{tag}-{i}" in stands.replies for i in pending):
            break
        await asyncio.sleep(0.05)
    for i, sample in enumerate(outcome.samples):
        posts = stands.replies.get(f"{tag}-{i}", [])
        outcome.duplicates += max(0, len(posts) - 1) + (1 if sample.in_ack and posts else 0)
        if sample.final is None and posts:
            sample.final = posts[0]
    return outcome


# -- report ----------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def summarize(outcome: Outcome, latency: float, peak_rss: dict[int, int]) -> dict[str, Any]:
    samples = outcome.samples
    acks = [(s.ack - s.sent) * 1000 for s in samples if s.ack is not None]
    finals = [(s.final - s.sent) * 1000 for s in samples if s.final is not None]
    overhead = [f - latency * 1000 for f in finals]
    completed = len(finals)
    first = min(s.sent for s in samples)
    last_final = max((s.final for s in samples if s.final is not None), default=first)
    return {
        "sent": len(samples),
        "completed": completed,
        "lost": len(samples) - completed,
        "duplicates": outcome.duplicates,
        "missed_deadline": sum(
            1 for s in samples if s.ack is None or s.status != 200 or s.ack - s.sent > DEADLINE
        ),
        "reply_in_ack_pct": round(100 * sum(s.in_ack for s in samples) / len(samples), 1),
        "ack_ms": {
            k: round(pct(acks, q), 1) for k, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
        },
        "reply_ms": {k: round(pct(finals, q), 1) for k, q in (("p50", 50), ("p99", 99), ("max", 100))},
        "overhead_ms": {k: round(pct(overhead, q), 1) for k, q in (("p50", 50), ("p99", 99))},
        "last_reply_after_last_sent_s": round(last_final - outcome.last_sent, 3),
        "throughput_per_s": round(completed / max(1e-9, last_final - first), 1),
        "peak_rss_mb_per_process": round(max(peak_rss.values(), default=0) / 1024, 1),
        "processes": len(peak_rss),
    }


def table(results: dict[str, dict[str, dict[str, Any]]]) -> str:
    head = (
        "| scenario | app | sent | lost | missed ack | ack p50/p95/p99/max ms | reply p50/p99 ms "
        "| overhead p50/p99 ms | last reply after last sent | throughput /s | peak RSS MB/proc |"
    )
    lines = [head, "|" + "---|" * 11]
    for name, by_app in results.items():
        for app, r in by_app.items():
            a, f, o = r["ack_ms"], r["reply_ms"], r["overhead_ms"]
            lines.append(
                f"| {name} | {app} | {r['sent']} | {r['lost']} | {r['missed_deadline']} "
                f"| {a['p50']}/{a['p95']}/{a['p99']}/{a['max']} | {f['p50']}/{f['p99']} | {o['p50']}/{o['p99']} "
                f"| {r['last_reply_after_last_sent_s']} s | {r['throughput_per_s']} | {r['peak_rss_mb_per_process']} |"
            )
    return "\n".join(lines)


def ratios(results: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    out = []
    for name, by_app in results.items():
        if "bot" in by_app and "baseline" in by_app:
            b, q = by_app["bot"], by_app["baseline"]
            out.append(
                f"- {name}: throughput {b['throughput_per_s'] / max(q['throughput_per_s'], 1e-9):.1f}x the baseline; "
                f"reply p99 {q['reply_ms']['p99'] / max(b['reply_ms']['p99'], 1e-9):.1f}x faster; "
                f"ack p99 {b['ack_ms']['p99']} ms vs {q['ack_ms']['p99']} ms; "
                f"lost {b['lost']} vs {q['lost']}; missed deadlines {b['missed_deadline']} vs {q['missed_deadline']}"
            )
    return out


def targets(results: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    bot = {name: r["bot"] for name, r in results.items() if "bot" in r}
    checks: list[tuple[str, bool]] = []
    for name, r in bot.items():
        checks.append(
            (
                f"{name}: every ack < 3 s and no lost or duplicate reply",
                r["missed_deadline"] == 0 and r["lost"] == 0 and r["duplicates"] == 0,
            )
        )
        checks.append(
            (
                f"{name}: peak RSS per process <= 120 MB ({r['peak_rss_mb_per_process']} MB)",
                r["peak_rss_mb_per_process"] <= 120,
            )
        )
    if "steady" in bot:
        o = bot["steady"]["overhead_ms"]
        checks.append(
            (
                f"steady: overhead p50 <= 10 ms ({o['p50']}) and p99 <= 50 ms ({o['p99']})",
                o["p50"] <= 10 and o["p99"] <= 50,
            )
        )
    if "burst" in bot:
        b = bot["burst"]
        checks.append(
            (
                f"burst: all replied within 2 s of the last command sent ({b['last_reply_after_last_sent_s']} s)",
                b["lost"] == 0 and b["last_reply_after_last_sent_s"] <= 2.0,
            )
        )
        if "baseline" in results["burst"]:
            ratio = b["throughput_per_s"] / max(results["burst"]["baseline"]["throughput_per_s"], 1e-9)
            checks.append((f"burst: throughput >= 10x the baseline ({ratio:.1f}x)", ratio >= 10))
    return [f"{'PASS' if ok else 'MISS'}  {text}" for text, ok in checks]


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    stands = Stands(args.latency)
    await stands.start()
    apps = [a for a in ("bot", "baseline") if args.only in (None, a)]
    results: dict[str, dict[str, dict[str, Any]]] = {}
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    for name in args.scenarios.split(","):
        scenario = SCENARIOS[name]
        results[name] = {}
        for kind in apps:
            print(f"running {kind:<8} {scenario.label}", flush=True)
            app = AppUnderTest(kind, scenario.workers, stands, workdir)
            await asyncio.to_thread(app.start)
            try:
                # Warm up: first requests pay for imports, connection set-up and caches.
                await run_load(
                    f"http://127.0.0.1:{app.port}", stands, Scenario("warm", 20, 40, 1), f"warm-{kind}-{name}"
                )
                outcome = await run_load(f"http://127.0.0.1:{app.port}", stands, scenario, f"{kind}-{name}")
            finally:
                await asyncio.to_thread(app.stop)
            results[name][kind] = summarize(outcome, args.latency, app.peak_rss)
    await stands.runner.cleanup()  # type: ignore[union-attr]
    return {"latency_s": args.latency, "cpus": os.cpu_count(), "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Load benchmark: the bot vs a baseline."
    )
    parser.add_argument("--latency", type=float, default=0.25, help="BIK stand-in latency in seconds (0.25)")
    parser.add_argument("--only", choices=["bot", "baseline"], help="run one app only")
    parser.add_argument(
        "--scenarios", default="steady,burst,workers", help="comma-separated: steady,burst,workers"
    )
    args = parser.parse_args()
    report = uvloop.run(main_async(args))
    results = report["results"]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2))
    lines = [
        f"BIK latency {args.latency * 1000:g} ms, {report['cpus']} CPUs, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        table(results),
        "",
    ]
    lines += [*ratios(results), "", *targets(results)]
    text = "\n".join(lines)
    (RESULTS / "latest.md").write_text(text + "\n")
    print()
    print(text)
    print(f"\nJSON: {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
