"""Recent lookups for the App Home (SPEC 9.4, ``BIK_RECENT_LOOKUPS``): per workspace and user, the last N
queries on every surface, newest first, in memory or shared through Redis (``REDIS_URL``).

What is kept is deliberately poor: the query as ``partner:<id>`` / ``bik:<digits>`` (ids only; anything
else is refused, so a name, phone or email can never land here), a short outcome, the surface and the
time. Never customer data. Entries expire after 7 days.

Recent lookups are a convenience, never a reason for a lookup to fail: every Redis call is bounded in
time, and on any failure that call falls back to this process's memory (logged once per outage);
nothing here raises into the caller.

Storage in Redis: one list per user, key ``bik-slack:recent:<team>:<user>``, newest first, each element
a compact JSON object ``{"q": query, "o": outcome, "s": surface, "t": unix time}``. A write is one
Lua script, atomic in Redis (so two processes recording at once cannot duplicate a query): remove
the same query (and any expired or malformed element), push, trim to N, expire in 7 days.
Reads take at most N elements and skip any that are not well-formed.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import math
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Final, Literal, Protocol, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot.logs import get_logger
from bot.query import MAX_BIK_DIGITS

log = get_logger("bik.recent")

NAMESPACE = "bik-slack"
"""The same prefix as the rate limiter's keys (bot/ratelimit.py): one Redis can serve both."""
TTL_SECONDS = 7 * 24 * 3600
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
"""An upper bound on ``BIK_RECENT_LOOKUPS``: the Home tab has room for 100 blocks in all."""
DEFAULT_MAX_USERS = 10_000
"""Users kept by the in-memory store; the least recently used is forgotten first."""
DEFAULT_TIMEOUT = 0.5
MAX_QUERY_CHARS = 140
MAX_LABEL_CHARS = 32
"""Outcome and surface are our own short words; longer values are cut to this."""
MAX_ENTRY_BYTES = 2048
"""An element read from Redis larger than this is not ours: skipped before it is parsed."""
MAX_FUTURE_SECONDS = 3600
"""Clock skew tolerated between processes; an entry further in the future is malformed."""
UNKNOWN = "unknown"

_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
"""A Slack team or user id (T…, E…, U…, W…): no colon, so ``team:user`` keys cannot collide."""
_BIK = re.compile(rf"[0-9]{{1,{MAX_BIK_DIGITS}}}")

T = TypeVar("T")


class _Failed(Enum):
    FAILED = "failed"


FAILED: Final = _Failed.FAILED


@dataclass(frozen=True, slots=True)
class Recent:
    query: str
    """``partner:<id>`` or ``bik:<digits>``."""
    outcome: str
    """found, not_found, denied, an error kind…: at most 32 characters."""
    surface: str
    """command, message_shortcut, global_shortcut, unfurl, home, refresh, retry, share, addresses…"""
    at: float
    """Unix time of the lookup."""


def normalise_query(query: str) -> str | None:
    """``partner:<id>`` or ``bik:<digits>`` (the kind lower-cased), else None: nothing else is an id."""
    if not isinstance(query, str) or len(query) > MAX_QUERY_CHARS:
        return None
    kind, sep, value = query.partition(":")
    kind = kind.lower()
    if not sep or not value:
        return None
    if kind == "bik":
        return f"bik:{value}" if _BIK.fullmatch(value) else None
    if kind == "partner":
        # parse_query splits on whitespace and refuses control characters: a partner id has neither.
        if not value.isprintable() or any(ch.isspace() for ch in value):
            return None
        return f"partner:{value}"
    return None


def _label(value: object) -> str:
    if not isinstance(value, str):
        return UNKNOWN
    value = value.strip()[:MAX_LABEL_CHARS]
    return value if value and value.isprintable() else UNKNOWN


def _user_key(team: str, user: str) -> str | None:
    if not isinstance(team, str) or not isinstance(user, str):
        return None
    if _ID.fullmatch(team) is None or _ID.fullmatch(user) is None:
        return None
    return f"{team}:{user}"


class _Store(Protocol):
    async def push(self, key: str, entry: Recent, now: float) -> None: ...

    async def entries(self, key: str, now: float) -> builtins.list[Recent]: ...

    async def close(self) -> None: ...


def _fresh(entry: Recent, now: float) -> bool:
    return now - TTL_SECONDS < entry.at <= now + MAX_FUTURE_SECONDS


class MemoryStore:
    """Per process. At most ``max_users`` users; the least recently used (read or written) goes first."""

    def __init__(self, *, limit: int, max_users: int = DEFAULT_MAX_USERS) -> None:
        self._limit = limit
        self._max_users = max(1, max_users)
        self._users: OrderedDict[str, tuple[Recent, ...]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._users)

    async def push(self, key: str, entry: Recent, now: float) -> None:
        old = self._users.pop(key, ())
        kept = [e for e in old if e.query != entry.query and _fresh(e, now)]
        self._users[key] = (entry, *kept[: self._limit - 1])
        while len(self._users) > self._max_users:
            self._users.popitem(last=False)

    async def entries(self, key: str, now: float) -> builtins.list[Recent]:
        found = self._users.get(key)
        if found is None:
            return []
        self._users.move_to_end(key)
        return [e for e in found if _fresh(e, now)]

    async def close(self) -> None:
        self._users.clear()


def encode(entry: Recent) -> bytes:
    body = {"q": entry.query, "o": entry.outcome, "s": entry.surface, "t": round(entry.at, 3)}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def decode(raw: object) -> Recent | None:
    """An element read from Redis, or None when it is not one we could have written."""
    if isinstance(raw, str):
        raw = raw.encode()
    if not isinstance(raw, bytes) or len(raw) > MAX_ENTRY_BYTES:
        return None
    try:
        body = json.loads(raw.decode())
    except ValueError:  # UnicodeDecodeError and JSONDecodeError both
        return None
    if not isinstance(body, dict):
        return None
    query, outcome, surface, at = body.get("q"), body.get("o"), body.get("s"), body.get("t")
    if not isinstance(query, str) or normalise_query(query) != query:
        return None
    if not isinstance(outcome, str) or _label(outcome) != outcome:
        return None
    if not isinstance(surface, str) or _label(surface) != surface:
        return None
    if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at) or at < 0:
        return None
    return Recent(query, outcome, surface, float(at))


_PUSH = """
local key, value, query = KEYS[1], ARGV[1], ARGV[2]
local limit, ttl, oldest = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
for i = 6, #ARGV do
  redis.call('LREM', key, 0, ARGV[i])
end
local seen = {[query] = true}
for _, item in ipairs(redis.call('LRANGE', key, 0, -1)) do
  local ok, old = pcall(cjson.decode, item)
  if not ok or type(old) ~= 'table' or type(old['q']) ~= 'string' or type(old['t']) ~= 'number'
      or old['t'] <= oldest then
    redis.call('LREM', key, 0, item)
  elseif seen[old['q']] then
    redis.call('LREM', key, -1, item)
  else
    seen[old['q']] = true
  end
end
redis.call('LPUSH', key, value)
redis.call('LTRIM', key, 0, limit - 1)
redis.call('EXPIRE', key, ttl)
return 1
"""
"""One atomic write, run by Redis itself: remove the same query, repeated queries, and expired or
malformed elements, push, trim to N, expire. Two processes recording at once cannot duplicate a
query or push another's entry past the trim (a WATCH/MULTI retry loop could, under contention).
Elements that only our own checks call malformed (``decode``) are read just before and passed in."""


class RedisStore:
    """One list per user (see the module docstring); every process sees the same lists."""

    def __init__(self, client: aioredis.Redis, *, limit: int) -> None:
        self._client = client
        self._limit = limit
        self._push = client.register_script(_PUSH)

    @staticmethod
    def redis_key(key: str) -> str:
        return f"{NAMESPACE}:recent:{key}"

    async def push(self, key: str, entry: Recent, now: float) -> None:
        name = self.redis_key(key)
        malformed = [item for item in await self._client.lrange(name, 0, -1) if decode(item) is None]
        await self._push(
            keys=[name],
            args=[encode(entry), entry.query, self._limit, TTL_SECONDS, now - TTL_SECONDS, *malformed],
        )

    async def entries(self, key: str, now: float) -> builtins.list[Recent]:
        raw = await self._client.lrange(self.redis_key(key), 0, self._limit - 1)
        out: builtins.list[Recent] = []
        seen: set[str] = set()
        for item in raw:
            entry = decode(item)
            if entry is None or entry.query in seen or not _fresh(entry, now):
                continue
            seen.add(entry.query)
            out.append(entry)
        return out

    async def close(self) -> None:
        await self._client.aclose()


class RecentLookups:
    """The Home tab's "Your recent lookups". Never raises into the caller (bad input is ignored)."""

    def __init__(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        redis: aioredis.Redis | None = None,
        max_users: int = DEFAULT_MAX_USERS,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 <= limit <= MAX_LIMIT:
            raise ValueError(f"recent lookups: limit must be 0..{MAX_LIMIT}, not {limit}")
        self.limit = limit
        self._memory = MemoryStore(limit=limit, max_users=max_users)
        self._shared: RedisStore | None = (
            RedisStore(redis, limit=limit) if redis is not None and limit else None
        )
        self._timeout = timeout
        self._clock = clock
        self._failing = False

    @classmethod
    def create(
        cls,
        limit: int,
        redis_url: str | None,
        *,
        max_users: int = DEFAULT_MAX_USERS,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> RecentLookups:
        """Redis when ``redis_url`` is set (and the list is on), else this process's memory."""
        client: aioredis.Redis | None = None
        if redis_url and limit > 0:
            try:
                client = aioredis.from_url(
                    redis_url,
                    socket_timeout=timeout,
                    socket_connect_timeout=timeout,
                    retry=Retry(NoBackoff(), 0),  # the caller's bound is the retry policy
                )
            except ValueError as exc:
                log.warning("recent_store_unavailable", error=type(exc).__name__, fallback="memory")
        return cls(limit=limit, redis=client, max_users=max_users, timeout=timeout, clock=clock)

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    @property
    def backend(self) -> str:
        if not self.enabled:
            return "off"
        return "redis" if self._shared is not None else "memory"

    async def record(
        self, team: str, user: str, query: str, outcome: str, surface: str, at: float | None = None
    ) -> None:
        """Put ``query`` at the top of this user's list (once: an earlier entry for it is removed)."""
        if not self.enabled:
            return
        key = _user_key(team, user)
        normal = normalise_query(query)
        if key is None or normal is None:
            log.debug("recent_lookup_not_kept", reason="bad_user" if key is None else "not_an_id")
            return
        now = self._clock()
        if at is None or not math.isfinite(at) or not 0 <= at <= now + MAX_FUTURE_SECONDS:
            at = now
        entry = Recent(normal, _label(outcome), _label(surface), float(at))
        if (
            self._shared is None
            or await self._bounded(self._shared.push(key, entry, now), "record") is FAILED
        ):
            await self._memory.push(key, entry, now)

    async def list(self, team: str, user: str) -> builtins.list[Recent]:
        """This user's recent lookups in this workspace, newest first, at most ``limit``."""
        if not self.enabled:
            return []
        key = _user_key(team, user)
        if key is None:
            return []
        now = self._clock()
        if self._shared is not None:
            found = await self._bounded(self._shared.entries(key, now), "list")
            if found is not FAILED:
                return found
        return await self._memory.entries(key, now)

    async def close(self) -> None:
        shared, self._shared = self._shared, None
        if shared is not None:
            await self._bounded(shared.close(), "close")

    async def _bounded(self, call: Awaitable[T], op: str) -> T | Literal[_Failed.FAILED]:
        """One Redis call within the time bound; FAILED (logged once per outage) when it did not answer."""
        try:
            result = await asyncio.wait_for(call, self._timeout)
        except Exception as exc:  # noqa: BLE001 - any Redis failure: fall back to memory, say so once
            if not self._failing:
                self._failing = True
                log.warning("recent_store_unavailable", op=op, error=type(exc).__name__, fallback="memory")
            return FAILED
        if self._failing:
            self._failing = False
            log.info("recent_store_recovered", op=op)
        return result
