"""Merging concurrent work for the same key, with an optional short cache."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class TtlCache(Generic[T]):
    """A small time-bounded cache that also merges concurrent misses for the same key.

    With ``ttl=0`` nothing is kept: it only merges calls that overlap in time (single flight).
    """

    def __init__(self, ttl: float, *, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._values: dict[Hashable, tuple[float, T]] = {}
        self._pending: dict[Hashable, asyncio.Future[T]] = {}

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        hit = self._values.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value = await load()
        except asyncio.CancelledError:
            future.cancel()  # the leader was cancelled (shutdown): so are its followers
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters get it, nobody else must
            raise
        else:
            future.set_result(value)
            if self._ttl > 0:
                if len(self._values) >= self._max:
                    self._values.clear()
                self._values[key] = (now + self._ttl, value)
            return value
        finally:
            del self._pending[key]
