"""Recent lookups shared through a real Redis (bot/recent.py), and a Redis that does not answer."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from bot.recent import TTL_SECONDS, Recent, RecentLookups, RedisStore
from tests.fakes.process import free_port

pytestmark = pytest.mark.redis


@pytest.fixture
def team() -> str:
    """A workspace of its own per test: the Redis lives for the whole session."""
    return "T" + uuid.uuid4().hex[:10].upper()


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def two(redis_url: str) -> AsyncIterator[tuple[RecentLookups, RecentLookups]]:
    """Two stores on one Redis, as two worker processes would have."""
    first = RecentLookups.create(3, redis_url)
    second = RecentLookups.create(3, redis_url)
    yield first, second
    await first.close()
    await second.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers a byte."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield int(server.getsockname()[1])


async def queries(recent: RecentLookups, team: str, user: str = "U1") -> list[str]:
    return [entry.query for entry in await recent.list(team, user)]


async def test_two_processes_see_the_same_list(two, team):
    first, second = two
    assert first.backend == second.backend == "redis"
    await first.record(team, "U1", "partner:a", "found", "command")
    await second.record(team, "U1", "bik:2", "not_found", "unfurl")
    await first.record(team, "U1", "partner:c", "denied", "message_shortcut")
    await second.record(team, "U1", "partner:a", "found", "home")  # moves to the top, once
    await first.record(team, "U1", "bik:5", "found", "global_shortcut")  # trims to 3
    assert await queries(first, team) == ["bik:5", "partner:a", "partner:c"]
    assert await second.list(team, "U1") == await first.list(team, "U1")
    assert (await second.list(team, "U1"))[1].surface == "home"


async def test_the_same_user_in_another_workspace_has_another_list(two, team):
    first, second = two
    await first.record(team, "U1", "partner:mine", "found", "command")
    await second.record(team + "X", "U1", "partner:theirs", "found", "command")
    assert await queries(second, team) == ["partner:mine"]
    assert await queries(first, team + "X") == ["partner:theirs"]


async def test_one_list_per_user_with_a_ttl_of_seven_days_refreshed_on_write(two, team, raw):
    first, _ = two
    key = f"bik-slack:recent:{team}:U1"
    at = float(int(time.time()) - 30) + 0.5
    await first.record(team, "U1", "partner:a", "found", "command", at=at)
    assert await raw.type(key) == b"list"
    assert TTL_SECONDS - 5 <= await raw.ttl(key) <= TTL_SECONDS
    await raw.expire(key, 60)
    await first.record(team, "U1", "bik:1", "found", "command")
    assert TTL_SECONDS - 5 <= await raw.ttl(key) <= TTL_SECONDS
    [_, oldest] = await raw.lrange(key, 0, -1)
    assert json.loads(oldest) == {"q": "partner:a", "o": "found", "s": "command", "t": at}


async def test_entries_older_than_seven_days_are_not_shown(redis_url, team):
    now = time.time()
    writer = RecentLookups.create(10, redis_url, clock=lambda: now)
    later = RecentLookups.create(10, redis_url, clock=lambda: now + TTL_SECONDS + 1)
    try:
        await writer.record(team, "U1", "partner:a", "found", "command")
        assert await queries(writer, team) == ["partner:a"]
        assert await later.list(team, "U1") == []
    finally:
        await writer.close()
        await later.close()


async def test_malformed_entries_in_redis_are_skipped(redis_url, team, raw):
    key = f"bik-slack:recent:{team}:U1"
    now = time.time()
    good = json.dumps({"q": "bik:9", "o": "found", "s": "command", "t": now})
    await raw.rpush(
        key,
        good,
        b"\xff\xfe not utf-8",
        "not json",
        json.dumps({"q": "Jane Doe", "o": "found", "s": "command", "t": now}),
        good,  # a duplicate, byte for byte
    )
    recent = RecentLookups.create(10, redis_url)
    try:
        assert await recent.list(team, "U1") == [Recent("bik:9", "found", "command", now)]
        # A write cleans the list: malformed and repeated elements go with the old entry for the query.
        await recent.record(team, "U1", "partner:a", "found", "command")
        assert await queries(recent, team) == ["partner:a", "bik:9"]
        assert len(await raw.lrange(key, 0, -1)) == 2
    finally:
        await recent.close()


async def test_concurrent_writes_from_two_processes_keep_one_entry_per_query(redis_url, team):
    # A generous bound: this test is about atomic writes, not the 0.5 s bound (a slow, loaded CI
    # machine would otherwise send some writes to the memory fallback).
    stores = [RecentLookups.create(10, redis_url, timeout=10) for _ in range(2)]
    try:
        await asyncio.gather(
            *(stores[i % 2].record(team, "U1", f"partner:{i % 4}", "found", "command") for i in range(24))
        )
        assert sorted(await queries(stores[0], team)) == ["partner:0", "partner:1", "partner:2", "partner:3"]
    finally:
        for store in stores:
            await store.close()


async def test_a_closed_port_falls_back_to_memory_without_raising(team, logs):
    recent = RecentLookups.create(5, f"redis://127.0.0.1:{free_port()}/0")
    assert recent.backend == "redis"
    await recent.record(team, "U1", "partner:a", "found", "command")
    await recent.record(team, "U1", "partner:b", "found", "command")
    assert await queries(recent, team) == ["partner:b", "partner:a"]
    await recent.close()
    events = logs.events("recent_store_unavailable")
    assert len(events) == 1, "logged once per outage, not once per call"
    assert events[0]["fallback"] == "memory"


async def test_a_redis_that_stops_answering_is_bounded_in_time(team, silent_port, logs):
    recent = RecentLookups.create(5, f"redis://127.0.0.1:{silent_port}/0", timeout=0.3)
    started = time.monotonic()
    await recent.record(team, "U1", "bik:7", "found", "command")
    assert await queries(recent, team) == ["bik:7"]
    assert time.monotonic() - started < 2.0
    await recent.close()
    assert len(logs.events("recent_store_unavailable")) == 1


async def test_a_failing_call_logs_again_only_after_redis_came_back(redis_url, team, logs):
    healthy = aioredis.from_url(redis_url)
    recent = RecentLookups(limit=5, redis=healthy)
    try:
        await recent.record(team, "U1", "partner:a", "found", "command")
        real = RedisStore.entries

        async def broken(*args: object) -> list[Recent]:
            raise ConnectionError("down")

        RedisStore.entries = broken  # type: ignore[method-assign]
        try:
            assert await recent.list(team, "U1") == []  # memory: nothing recorded there
            assert await recent.list(team, "U1") == []
        finally:
            RedisStore.entries = real  # type: ignore[method-assign]
        assert await queries(recent, team) == ["partner:a"]
        assert len(logs.events("recent_store_unavailable")) == 1
        assert len(logs.events("recent_store_recovered")) == 1
    finally:
        await recent.close()
