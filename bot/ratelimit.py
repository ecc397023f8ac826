"""Per-user lookup budget (``BIK_RATE_LIMIT``, ``limits`` syntax), in memory or shared through Redis.

A sliding-window counter from the ``limits`` library. With ``REDIS_URL`` every process and host
shares one budget per user. If Redis does not answer within a short bound, the process falls back
to its own in-memory window for that call (and logs it): lookups keep working at 3 a.m., and a
scraper is still held to the limit by each process.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from bot.logs import get_logger

log = get_logger("bik.ratelimit")
NAMESPACE = "bik-slack"
ONCE_SECONDS = 600
"""Slack refuses a signature older than 5 minutes: a request replayed later is refused anyway."""


class SeenOnce:
    """Keys seen in the last ``ttl`` seconds, in this process. One TTL for every key, so insertion order
    is expiry order: expired keys leave from the front, O(1) per call (``limits``' memory moving
    window rescans every key, through a thread, on every call: 9 s of CPU per 10 s at 50 requests/s)."""

    def __init__(self, ttl: float = ONCE_SECONDS, cap: int = 200_000) -> None:
        self._ttl = ttl
        self._cap = cap
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        while self._seen and next(iter(self._seen.values())) <= now:
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now + self._ttl
        if len(self._seen) > self._cap:
            self._seen.popitem(last=False)
        return True


class UserRateLimiter:
    def __init__(self, rate: str, *, redis_url: str | None = None, redis_timeout: float = 0.5) -> None:
        self._item = parse(rate)
        self.capacity: int = self._item.amount
        multiple = self._item.multiples
        unit = self._item.GRANULARITY.name
        self.per = f"per {unit}" if multiple == 1 else f"every {multiple} {unit}s"
        self._memory = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._memory_once = SeenOnce()
        self._shared: SlidingWindowCounterRateLimiter | None = None
        self._storage: Storage | None = None
        self._redis_timeout = redis_timeout
        if redis_url:
            uri = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
            self._storage = RedisStorage(uri, implementation="redispy", key_prefix=NAMESPACE)
            self._shared = SlidingWindowCounterRateLimiter(self._storage)

    @property
    def backend(self) -> str:
        return "redis" if self._shared is not None else "memory"

    async def try_spend(self, user_key: str, cost: int) -> float | None:
        if self._shared is not None:
            try:
                return await asyncio.wait_for(self._spend(self._shared, user_key, cost), self._redis_timeout)
            except Exception as exc:  # noqa: BLE001 - any Redis failure: fall back, say so
                log.error("rate_limit_store_unavailable", error=type(exc).__name__, fallback="memory")
        return await self._spend(self._memory, user_key, cost)

    async def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen within :data:`ONCE_SECONDS`, in every process when
        Redis is shared (one atomic INCR with an expiry): a signed request replayed within Slack's
        5-minute window is seen twice."""
        if self._storage is not None:
            try:
                count = await asyncio.wait_for(
                    self._storage.incr(f"once/{key}", ONCE_SECONDS), self._redis_timeout
                )
                return bool(count == 1)
            except Exception as exc:  # noqa: BLE001 - any Redis failure: fall back, say so
                log.error("rate_limit_store_unavailable", error=type(exc).__name__, fallback="memory")
        return self._memory_once.first(key)

    async def _spend(self, limiter: SlidingWindowCounterRateLimiter, key: str, cost: int) -> float | None:
        if await limiter.hit(self._item, key, cost=cost):
            return None
        stats = await limiter.get_window_stats(self._item, key)
        return max(1.0, stats.reset_time - time.time())

    async def check_ready(self) -> None:
        """Raise when the shared store is configured but unreachable (used by ``doctor``)."""
        if self._storage is not None and not await self._storage.check():
            raise ConnectionError("Redis did not answer")
