"""Per-user lookup budget (``BIK_RATE_LIMIT``, ``limits`` syntax), in memory or shared through Redis.

A sliding-window counter from the ``limits`` library. With ``REDIS_URL`` every process and host
shares one budget per user. If Redis does not answer within a short bound, the process falls back
to its own in-memory window for that call (and logs it): lookups keep working at 3 a.m., and a
scraper is still held to the limit by each process.
"""

from __future__ import annotations

import asyncio
import time

from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from bot.logs import get_logger

log = get_logger("bik.ratelimit")
NAMESPACE = "bik-slack"


class UserRateLimiter:
    def __init__(self, rate: str, *, redis_url: str | None = None, redis_timeout: float = 0.5) -> None:
        self._item = parse(rate)
        self._memory = SlidingWindowCounterRateLimiter(MemoryStorage())
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

    async def _spend(self, limiter: SlidingWindowCounterRateLimiter, key: str, cost: int) -> float | None:
        if await limiter.hit(self._item, key, cost=cost):
            return None
        stats = await limiter.get_window_stats(self._item, key)
        return max(1.0, stats.reset_time - time.time())

    async def check_ready(self) -> None:
        """Raise when the shared store is configured but unreachable (used by ``doctor``)."""
        if self._storage is not None and not await self._storage.check():
            raise ConnectionError("Redis did not answer")
