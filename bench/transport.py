"""Which transport for the one pooled client? CPU seconds this process spends on N concurrent POSTs
to a local server (run in another process, so its CPU is not counted).

    .venv/bin/python -m bench.transport [--requests 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import statistics
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
from aiohttp import web
from httpx_aiohttp import AiohttpTransport

BODY = {
    "partnerCustomerId": "abcd-122345",
    "includeAssets": True,
    "includeAddress": True,
    "includeTags": True,
}
ANSWER = json.dumps({"status": 200, "success": True, "data": {"customer": {"id": 1, "firstName": "A" * 400}}})


def _serve(port: int) -> None:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(0.05)  # a little latency, so that requests overlap as they do for real
        return web.Response(text=ANSWER, content_type="application/json")

    app = web.Application()
    app.router.add_post("/get", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _burst(post: Callable[[], Awaitable[int]], n: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    statuses = await asyncio.gather(*(post() for _ in range(n)))
    assert all(s == 200 for s in statuses), statuses[:5]
    return time.process_time() - cpu, time.perf_counter() - wall


async def measure(url: str, n: int, rounds: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}

    async def run(name: str, post: Callable[[], Awaitable[int]]) -> None:
        await _burst(post, 20)  # warm the pool
        samples = [await _burst(post, n) for _ in range(rounds)]
        results[name] = {
            "cpu_s": round(statistics.median(s[0] for s in samples), 3),
            "wall_s": round(statistics.median(s[1] for s in samples), 3),
        }

    for name, client in (
        ("httpx default pool (100)", httpx.AsyncClient()),
        ("httpx pool raised (1000)", httpx.AsyncClient(limits=httpx.Limits(max_connections=1000))),
        ("httpx over aiohttp (100)", httpx.AsyncClient(transport=AiohttpTransport())),
    ):
        async with client:

            async def post(c: httpx.AsyncClient = client) -> int:
                return (await c.post(url, json=BODY)).status_code

            await run(name, post)

    async with aiohttp.ClientSession() as session:

        async def post_aiohttp() -> int:
            async with session.post(url, json=BODY) as response:
                await response.read()
                return response.status

        await run("aiohttp directly (100)", post_aiohttp)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = _free_port()
    server = multiprocessing.Process(target=_serve, args=(port,), daemon=True)
    server.start()
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        results = asyncio.run(measure(f"http://127.0.0.1:{port}/get", args.requests, args.rounds))
    finally:
        server.terminate()
    print(f"{args.requests} concurrent POSTs, median of {args.rounds} rounds (CPU of this process only)")
    print(f"{'transport':<28} {'CPU s':>7} {'wall s':>7}")
    for name, r in results.items():
        print(f"{name:<28} {r['cpu_s']:>7.3f} {r['wall_s']:>7.3f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
