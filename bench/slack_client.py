"""What one Slack Web API call costs the caller: ``slack_sdk``'s ``AsyncWebClient`` as ``bot/app.py``
builds it (no ``session``: the SDK opens a new aiohttp session, so a new connection, for every call)
against the same client given one shared ``aiohttp.ClientSession`` (a pooled connection).

CPU seconds of this process for N ``views.open`` calls, 50 in flight at a time, against a local
stand-in in another process (its CPU is not counted), median of a few rounds. Over plain HTTP on
127.0.0.1; against slack.com every new connection is also a TLS handshake and a round trip or two.

    .venv/bin/python -m bench.slack_client [--calls 500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import time

import aiohttp
import uvloop
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bench.transport import _free_port

VIEW = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "BIK customer"},
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": ":mag: Looking up…"}}],
}


def _serve(port: int) -> None:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"ok": True, "view": {"id": "V1"}})

    app = web.Application()
    app.router.add_post("/api/views.open", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def _calls(client: AsyncWebClient, n: int) -> tuple[float, float]:
    gate = asyncio.Semaphore(50)

    async def one(i: int) -> None:
        async with gate:
            await client.views_open(trigger_id=f"{i}.1.x", view=VIEW)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.process_time() - cpu, time.perf_counter() - wall


async def measure(base_url: str, n: int, rounds: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    async with aiohttp.ClientSession() as shared:
        for name, client in (
            ("as the bot builds it (session per call)", AsyncWebClient(token="xoxb-x", base_url=base_url)),
            ("one shared aiohttp session", AsyncWebClient(token="xoxb-x", base_url=base_url, session=shared)),
        ):
            await _calls(client, 20)
            samples = [await _calls(client, n) for _ in range(rounds)]
            results[name] = {
                "cpu_ms_per_call": round(1000 * statistics.median(s[0] for s in samples) / n, 3),
                "wall_s": round(statistics.median(s[1] for s in samples), 3),
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.slack_client", description=__doc__)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = _free_port()
    server = multiprocessing.Process(target=_serve, args=(port,), daemon=True)
    server.start()
    time.sleep(1.0)
    try:
        results = uvloop.run(measure(f"http://127.0.0.1:{port}/api/", args.calls, args.rounds))
    finally:
        server.terminate()
        server.join(5)
    print(f"{args.calls} views.open calls, 50 in flight, median of {args.rounds} rounds (this process's CPU)")
    print(f"{'client':<42} CPU ms/call  wall s")
    for name, r in results.items():
        print(f"{name:<42} {r['cpu_ms_per_call']:>11}  {r['wall_s']:>6}")


if __name__ == "__main__":
    main()
