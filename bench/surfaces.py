"""The surfaces beyond the slash command: message shortcuts and link unfurls, at a steady rate.

*Shortcuts*: Slack-signed ``message_action`` payloads (the corpus shape of
``tests/payloads/shortcut_message.json``, ``payload=<json>`` in a form body) whose message names a
customer. Measured per shortcut, from its send time: the HTTP ack, the ``views.open`` call's arrival at
the Slack stand-in (correlated by ``trigger_id``; the trigger lives 3 s) and the ``views.update`` that
carries the card (correlated by the view id the stand-in answered).

*Unfurls*: ``link_shared`` events (Events API JSON, the corpus shape of
``tests/payloads/event_callback_link_shared.json``, posted in a channel rather than the composer) with
one dashboard link each. Measured per event: the ack and the ``chat.unfurl`` call's arrival at the
stand-in (correlated by the message ``ts``); overhead = that time - BIK's latency.

Every shortcut and every link names a different customer, so no two share a BIK call (the bot merges
concurrent lookups of one id; the BIK stand-in answers every id with the example customer).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bench.harness import (
    CHANNEL,
    DASHBOARD_URL,
    P50_P99_MAX,
    AppUnderTest,
    Machine,
    Stands,
    ViewCall,
    dist,
    sign,
)
from tests import payloads

USERS = 50
TEAM = "T1"
FIRST_BIK_ID = 5482636  # the example customer's BIK id; link i names FIRST_BIK_ID + i
OPEN_TARGET_MS = 100.0


@dataclass(frozen=True)
class Surface:
    name: str
    count: int
    rate: float

    @property
    def label(self) -> str:
        what = "message shortcuts" if self.name == "shortcuts" else "link_shared events"
        return f"{self.name}: {self.count} {what}, {self.rate:g}/s for {self.count / self.rate:g} s, 1 worker"


SURFACES = {
    "shortcuts": Surface("shortcuts", 500, 50),
    "unfurls": Surface("unfurls", 200, 20),
}


@dataclass
class Sent:
    key: str
    sent: float
    ack: float | None = None
    status: int | None = None
    error: str | None = None


# -- requests shaped like Slack's ----------------------------------------------------------------------


def shortcut_request(stands: Stands, tag: str, i: int) -> tuple[str, bytes, dict[str, str]]:
    """A message shortcut on a message naming ``partner:bench-<tag>-<i>``: (trigger_id, body, headers)."""
    trigger = f"{i}.{tag}.bench-trigger"
    payload = payloads.interaction(
        "shortcut_message",
        channel=CHANNEL,
        user=f"U{i % USERS:05d}",
        team=TEAM,
        trigger_id=trigger,
        response_url=f"{stands.url}/hooks/shortcut-{tag}-{i}",
    )
    payload["callback_id"] = "lookup_message"  # the manifest's (the capture came from another app)
    text = f"customer partner:bench-{tag}-{i} says the order never arrived"
    message = payload["message"]
    message["text"] = text
    message["blocks"][0]["elements"][0]["elements"][0]["text"] = text
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return trigger, body, sign(body, "application/x-www-form-urlencoded")


def unfurl_request(tag: str, i: int, base_ts: int) -> tuple[str, bytes, dict[str, str]]:
    """A ``link_shared`` event for a message in the bench channel with one dashboard link: (ts, body,
    headers)."""
    ts = f"{base_ts}.{i:06d}"
    url = DASHBOARD_URL.format(bik_id=FIRST_BIK_ID + i)
    body_json = payloads.load("event_callback_link_shared")
    body_json.update(team_id=TEAM, context_team_id=TEAM, api_app_id="A1", event_id=f"Ev{tag}{i:06d}")
    body_json["event_time"] = base_ts
    body_json["authorizations"][0]["team_id"] = TEAM
    event = body_json["event"]
    event.update(
        user=f"U{i % USERS:05d}",
        channel=CHANNEL,
        message_ts=ts,
        unfurl_id=f"C{tag}{i:06d}",
        source="conversations_history",
        is_bot_user_member=True,
        links=[{"domain": "bik-dashboard.example.com", "url": url}],
        event_ts=ts,
    )
    body = json.dumps(body_json).encode()
    return ts, body, sign(body, "application/json")


# -- load ------------------------------------------------------------------------------------------------


async def paced(count: int, rate: float, send: Callable[[int], Awaitable[None]]) -> tuple[float, float]:
    """Call ``send(i)`` for i < count at ``rate`` per second (each in its own task); (first, last) send
    times once all have finished."""
    tasks = []
    start = time.perf_counter()
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(send(i)))
    last = time.perf_counter()
    await asyncio.gather(*tasks)
    return start, last


async def post_all(
    app_url: str,
    count: int,
    rate: float,
    build: Callable[[int], tuple[str, bytes, dict[str, str]]],
) -> tuple[list[Sent], float, float]:
    sent: list[Sent] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def send(i: int) -> None:
            key, body, headers = build(i)
            item = Sent(key, time.perf_counter())
            sent.append(item)
            try:
                async with session.post(app_url + "/slack/events", data=body, headers=headers) as response:
                    await response.read()
                    item.ack, item.status = time.perf_counter(), response.status
            except Exception as exc:
                item.error = type(exc).__name__

        first, last = await paced(count, rate, send)
    return sent, first, last


async def wait_for(done: Callable[[], bool], within: float) -> None:
    """Poll ``done`` every 50 ms for at most ``within`` seconds."""
    for _ in range(round(within / 0.05)):
        if done():
            return
        await asyncio.sleep(0.05)


def ms(later: float, earlier: float) -> float:
    return (later - earlier) * 1000


def acks(sent: list[Sent]) -> dict[str, Any]:
    return {
        "ack_ms": dist([ms(s.ack, s.sent) for s in sent if s.ack is not None], *P50_P99_MAX),
        "not_200": sum(1 for s in sent if s.status != 200),
        "errors": sorted({s.error for s in sent if s.error}),
    }


# -- the scenarios ---------------------------------------------------------------------------------------


async def run_shortcuts(app: AppUnderTest, stands: Stands, surface: Surface, tag: str) -> dict[str, Any]:
    rec = stands.slack
    # Warm up every asker once (Slack facts about them are cached after the first lookup), as the
    # command scenarios warm up on 20 commands.
    warm = f"warm{tag}"
    await post_all(app.url, USERS, 25, lambda i: shortcut_request(stands, warm, i))
    await wait_for(lambda: sum(len(v) for k, v in rec.updates.items() if warm in k) >= USERS, 10)
    calls_before, bik_before = rec.calls.copy(), stands.bik_calls
    cpu_before, machine = app.cpu_seconds(), Machine()
    sent, first, last = await post_all(
        app.url, surface.count, surface.rate, lambda i: shortcut_request(stands, tag, i)
    )

    def card(trigger: str) -> ViewCall | None:
        return next((u for u in rec.updates.get(trigger, []) if u.card), None)

    await wait_for(lambda: all(card(s.key) for s in sent), 30)
    cpu = app.cpu_seconds() - cpu_before
    load = machine.done()

    opens = [ms(rec.opens[s.key], s.sent) for s in sent if s.key in rec.opens]
    cards = [ms(c.at, s.sent) for s in sent if (c := card(s.key))]
    updates = [u for s in sent for u in rec.updates.get(s.key, [])]
    return {
        "sent": len(sent),
        "send_rate_per_s": round((len(sent) - 1) / max(1e-9, last - first), 1),
        **acks(sent),
        "opened": len(opens),
        "open_ms": dist(opens, *P50_P99_MAX),
        "open_over_100ms": sum(1 for x in opens if x > OPEN_TARGET_MS),
        "open_over_3s": sum(1 for x in opens if x > 3000),
        "updated_with_card": len(cards),
        "card_ms": dist(cards, *P50_P99_MAX),
        "card_overhead_ms": dist([c - stands.latency * 1000 for c in cards], ("p50", 50), ("p99", 99)),
        "updates_without_card": sum(1 for u in updates if not u.card),
        "duplicate_opens": rec.duplicate_opens,
        "bik_calls": stands.bik_calls - bik_before,
        "slack_calls": dict(rec.calls - calls_before),
        "app_cpu_ms_per_request": round(1000 * cpu / max(1, len(sent)), 2),
        "machine": load,
    }


async def run_unfurls(app: AppUnderTest, stands: Stands, surface: Surface, tag: str) -> dict[str, Any]:
    rec = stands.slack
    base_ts = int(time.time())
    warm = f"warm{tag}"
    await post_all(app.url, USERS, 25, lambda i: unfurl_request(warm, i, base_ts - 1))
    await wait_for(lambda: sum(1 for k in rec.unfurls if k.startswith(f"{base_ts - 1}.")) >= USERS, 10)
    calls_before, bik_before = rec.calls.copy(), stands.bik_calls
    cpu_before, machine = app.cpu_seconds(), Machine()
    sent, first, last = await post_all(
        app.url, surface.count, surface.rate, lambda i: unfurl_request(tag, i, base_ts)
    )
    await wait_for(lambda: all(s.key in rec.unfurls for s in sent), 30)
    cpu = app.cpu_seconds() - cpu_before
    load = machine.done()

    unfurls = [ms(rec.unfurls[s.key][0].at, s.sent) for s in sent if s.key in rec.unfurls]
    return {
        "sent": len(sent),
        "send_rate_per_s": round((len(sent) - 1) / max(1e-9, last - first), 1),
        **acks(sent),
        "unfurled": len(unfurls),
        "unfurl_ms": dist(unfurls, *P50_P99_MAX),
        "overhead_ms": dist([u - stands.latency * 1000 for u in unfurls], *P50_P99_MAX),
        "unfurls_without_card": sum(1 for s in sent for u in rec.unfurls.get(s.key, []) if not u.card),
        "duplicate_unfurls": sum(max(0, len(rec.unfurls.get(s.key, [])) - 1) for s in sent),
        "bik_calls": stands.bik_calls - bik_before,
        "slack_calls": dict(rec.calls - calls_before),
        "app_cpu_ms_per_request": round(1000 * cpu / max(1, len(sent)), 2),
        "machine": load,
    }


RUNNERS = {"shortcuts": run_shortcuts, "unfurls": run_unfurls}


async def measure(app: AppUnderTest, stands: Stands, surface: Surface, tag: str) -> dict[str, Any]:
    await asyncio.to_thread(app.start)
    try:
        result = await RUNNERS[surface.name](app, stands, surface, tag)
    finally:
        await asyncio.to_thread(app.stop)
    result["peak_rss_mb_per_process"] = round(max(app.peak_rss.values(), default=0) / 1024, 1)
    result["log"] = app.log_summary()
    return result


# -- report ---------------------------------------------------------------------------------------------


def _d(d: dict[str, float], *keys: str) -> str:
    return "/".join(str(d[k]) for k in keys)


def table(results: dict[str, dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    if r := results.get("shortcuts"):
        lines += [
            "| shortcuts | sent (rate/s) | HTTP ack p50/p99/max ms | → views.open p50/p99/max ms "
            "| opens > 100 ms | card (views.update) p50/p99/max ms | card overhead p50/p99 ms "
            "| missing open / card | app CPU ms/shortcut |",
            "|" + "---|" * 9,
            f"| bot | {r['sent']} ({r['send_rate_per_s']}) | {_d(r['ack_ms'], 'p50', 'p99', 'max')} "
            f"| {_d(r['open_ms'], 'p50', 'p99', 'max')} | {r['open_over_100ms']} "
            f"| {_d(r['card_ms'], 'p50', 'p99', 'max')} | {_d(r['card_overhead_ms'], 'p50', 'p99')} "
            f"| {r['sent'] - r['opened']} / {r['sent'] - r['updated_with_card']} | {r['app_cpu_ms_per_request']} |",
            "",
        ]
    if r := results.get("unfurls"):
        lines += [
            "| unfurls | sent (rate/s) | HTTP ack p50/p99/max ms | → chat.unfurl p50/p99/max ms "
            "| overhead p50/p99/max ms | missing unfurl | app CPU ms/event |",
            "|" + "---|" * 7,
            f"| bot | {r['sent']} ({r['send_rate_per_s']}) | {_d(r['ack_ms'], 'p50', 'p99', 'max')} "
            f"| {_d(r['unfurl_ms'], 'p50', 'p99', 'max')} | {_d(r['overhead_ms'], 'p50', 'p99', 'max')} "
            f"| {r['sent'] - r['unfurled']} | {r['app_cpu_ms_per_request']} |",
            "",
        ]
    return lines


def targets(results: dict[str, dict[str, Any]]) -> list[tuple[str, bool]]:
    checks: list[tuple[str, bool]] = []
    if r := results.get("shortcuts"):
        checks += [
            (
                f"shortcuts: shortcut → views.open p99 < {OPEN_TARGET_MS:g} ms ({r['open_ms']['p99']})",
                r["open_ms"]["p99"] < OPEN_TARGET_MS,
            ),
            (
                "shortcuts: every shortcut acked 200, its modal opened within 3 s and updated with the card",
                r["not_200"] == 0
                and r["opened"] == r["sent"]
                and r["open_over_3s"] == 0
                and r["updated_with_card"] == r["sent"],
            ),
        ]
    if r := results.get("unfurls"):
        checks += [
            (
                f"unfurls: every link unfurled once, with the card ({r['unfurled']}/{r['sent']})",
                r["unfurled"] == r["sent"]
                and r["not_200"] == 0
                and r["unfurls_without_card"] == 0
                and r["duplicate_unfurls"] == 0,
            ),
            (
                f"unfurls: overhead p50 <= 10 ms ({r['overhead_ms']['p50']}) and p99 <= 50 ms "
                f"({r['overhead_ms']['p99']})",
                r["overhead_ms"]["p50"] <= 10 and r["overhead_ms"]["p99"] <= 50,
            ),
        ]
    return checks
