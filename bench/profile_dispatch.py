"""CPU per command inside the app, without the network: N signed slash commands dispatched straight
into the Bolt app (BIK answered by an in-memory transport), under cProfile.

    .venv/bin/python -m bench.profile_dispatch [--commands 2000] [--top 25]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import hmac
import io
import json
import pstats
import time
from pathlib import Path
from tempfile import mkdtemp
from urllib.parse import urlencode

import httpx
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.access import Policy
from bot.app import build_bot
from bot.config import Settings
from bot.logs import configure_logging
from bot.lookup import OpenDirectory
from bot.sandbox import CUSTOMERS

SECRET = "profile-secret"


def transport() -> httpx.MockTransport:
    body = json.dumps({"status": 200, "success": True, "data": {"customer": CUSTOMERS[0]}}).encode()
    return httpx.MockTransport(lambda request: httpx.Response(200, content=body))


def request(i: int) -> AsyncBoltRequest:
    body = urlencode(
        {
            "team_id": "T1",
            "channel_id": "CPROF",
            "user_id": f"U{i % 50}",
            "command": "/bik-customer",
            "text": f"id-{i}",
            "response_url": "http://127.0.0.1:9/hook",
            "trigger_id": "1",
            "channel_name": "x",
        }
    )
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return AsyncBoltRequest(
        body=body,
        headers={
            "x-slack-request-timestamp": ts,
            "x-slack-signature": sig,
            "content-type": "application/x-www-form-urlencoded",
        },
    )


async def run(n: int) -> tuple[float, pstats.Stats]:
    policy_path = Path(mkdtemp()) / "access.toml"
    policy_path.write_text("[channels.CPROF]\nallow = true\n")
    settings = Settings(
        _env_file=None,
        slack_bot_token="xoxb-x",
        slack_signing_secret=SECRET,  # type: ignore[call-arg]
        bik_api_token="t",
        bik_access_policy=policy_path,
        bik_rate_limit="1000000/minute",
    )
    bot = build_bot(
        settings, policy=Policy.load(policy_path), bik_transport=transport(), directory=OpenDirectory()
    )
    for i in range(50):  # warm-up
        await bot.bolt.async_dispatch(request(i))
    requests = [request(i) for i in range(n)]
    profiler = cProfile.Profile()
    cpu = time.process_time()
    profiler.enable()
    responses = await asyncio.gather(*(bot.bolt.async_dispatch(r) for r in requests))
    profiler.disable()
    cpu = time.process_time() - cpu
    assert all(b'"header"' in r.body.encode() for r in responses)
    await bot.http.aclose()
    return cpu, pstats.Stats(profiler)


def main() -> None:
    configure_logging("INFO", json_lines=True)  # as in production: the audit line is part of the cost
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    cpu, stats = asyncio.run(run(args.commands))
    print(
        f"{args.commands} commands dispatched: {cpu * 1000 / args.commands:.2f} ms CPU each (under cProfile)"
    )
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
