"""Slash commands: Slack-signed ``/bik-customer`` posts, each asking for a different id (so no two
share a BIK call), at a fixed rate or all at once; ack latency, time to final reply, overhead, lost
replies, throughput and peak RSS, the bot against the quickstart-style baseline."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bench.harness import CHANNEL, AppUnderTest, Machine, Stands, pct, sign

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
    body = urlencode(form).encode()
    return body, sign(body, "application/x-www-form-urlencoded")


async def run_load(
    app_url: str, stands: Stands, scenario: Scenario, tag: str, teams: tuple[str, ...] = ("T1",)
) -> Outcome:
    """``teams``: command ``i`` comes from workspace ``teams[i % len(teams)]`` (distribution mode)."""
    outcome = Outcome()
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def send(i: int) -> None:
            hook = f"{tag}-{i}"
            body, headers = signed(
                {
                    "team_id": teams[i % len(teams)],
                    "channel_id": CHANNEL,
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
        "| overhead p50/p99 ms | last reply after last sent | throughput /s | peak RSS MB/proc "
        "| app CPU ms/cmd |"
    )
    lines = [head, "|" + "---|" * 12]
    for name, by_app in results.items():
        for app, r in by_app.items():
            a, f, o = r["ack_ms"], r["reply_ms"], r["overhead_ms"]
            lines.append(
                f"| {name} | {app} | {r['sent']} | {r['lost']} | {r['missed_deadline']} "
                f"| {a['p50']}/{a['p95']}/{a['p99']}/{a['max']} | {f['p50']}/{f['p99']} | {o['p50']}/{o['p99']} "
                f"| {r['last_reply_after_last_sent_s']} s | {r['throughput_per_s']} | {r['peak_rss_mb_per_process']} "
                f"| {r.get('app_cpu_ms_per_command', '')} |"
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


def targets(results: dict[str, dict[str, dict[str, Any]]]) -> list[tuple[str, bool]]:
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
    return checks


async def measure(app: AppUnderTest, stands: Stands, scenario: Scenario, tag: str) -> dict[str, Any]:
    """Start ``app``, warm it up, run ``scenario`` against it, stop it; the summary, with the app's
    CPU per command (measured load only), the machine's load and the app's log."""
    await asyncio.to_thread(app.start)
    try:
        # Warm up: first requests pay for imports, connection set-up and caches.
        await run_load(app.url, stands, Scenario("warm", 20, 40, 1), f"warm-{tag}")
        cpu_before, machine = app.cpu_seconds(), Machine()
        outcome = await run_load(app.url, stands, scenario, tag)
        cpu = app.cpu_seconds() - cpu_before
        load = machine.done()
    finally:
        await asyncio.to_thread(app.stop)
    result = summarize(outcome, stands.latency, app.peak_rss)
    result["app_cpu_ms_per_command"] = round(1000 * cpu / max(1, len(outcome.samples)), 2)
    result["machine"] = load
    result["log"] = app.log_summary()
    return result
