"""Recent lookups, in-memory backend (bot/recent.py); Redis: tests/integration/test_recent_redis.py."""

from __future__ import annotations

import pytest

from bot.recent import (
    MAX_LABEL_CHARS,
    MAX_LIMIT,
    TTL_SECONDS,
    Recent,
    RecentLookups,
    decode,
    encode,
    normalise_query,
)

T0 = 1_750_000_000.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def store(limit: int = 10, **kwargs: object) -> tuple[RecentLookups, Clock]:
    clock = Clock()
    return RecentLookups(limit=limit, clock=clock, **kwargs), clock  # type: ignore[arg-type]


async def queries(recent: RecentLookups, team: str = "T1", user: str = "U1") -> list[str]:
    return [entry.query for entry in await recent.list(team, user)]


async def test_newest_first_with_outcome_surface_and_time():
    recent, clock = store()
    await recent.record("T1", "U1", "partner:abc", "found", "command")
    clock.now += 5
    await recent.record("T1", "U1", "bik:123", "not_found", "unfurl")
    assert await recent.list("T1", "U1") == [
        Recent("bik:123", "not_found", "unfurl", T0 + 5),
        Recent("partner:abc", "found", "command", T0),
    ]


async def test_the_same_query_again_moves_to_the_top_without_a_duplicate():
    recent, clock = store()
    for query in ("partner:a", "partner:b", "partner:c"):
        await recent.record("T1", "U1", query, "found", "command")
    clock.now += 60
    await recent.record("T1", "U1", "partner:a", "error_timeout", "retry")
    entries = await recent.list("T1", "U1")
    assert [e.query for e in entries] == ["partner:a", "partner:c", "partner:b"]
    assert entries[0] == Recent("partner:a", "error_timeout", "retry", T0 + 60)


async def test_the_kind_is_case_insensitive_so_it_is_the_same_query():
    recent, _ = store()
    await recent.record("T1", "U1", "partner:abc", "found", "command")
    await recent.record("T1", "U1", "PARTNER:abc", "found", "home")
    assert await queries(recent) == ["partner:abc"]


async def test_only_the_last_n_are_kept():
    recent, _ = store(limit=3)
    for i in range(7):
        await recent.record("T1", "U1", f"bik:{i + 1}", "found", "command")
    assert await queries(recent) == ["bik:7", "bik:6", "bik:5"]


async def test_zero_stores_nothing_and_every_call_is_a_no_op():
    recent, _ = store(limit=0)
    assert not recent.enabled
    assert recent.backend == "off"
    await recent.record("T1", "U1", "partner:abc", "found", "command")
    assert await recent.list("T1", "U1") == []
    await recent.close()


def test_zero_with_a_redis_url_never_connects():
    recent = RecentLookups.create(0, "redis://127.0.0.1:1/0")
    assert recent.backend == "off"


def test_without_redis_url_the_backend_is_memory():
    recent = RecentLookups.create(10, None)
    assert recent.enabled
    assert recent.backend == "memory"


@pytest.mark.parametrize("limit", [-1, MAX_LIMIT + 1])
def test_a_limit_out_of_range_is_refused(limit):
    with pytest.raises(ValueError, match="limit"):
        RecentLookups(limit=limit)


async def test_entries_expire_after_seven_days():
    recent, clock = store()
    await recent.record("T1", "U1", "partner:old", "found", "command")
    clock.now += 3600
    await recent.record("T1", "U1", "partner:new", "found", "command")
    clock.now = T0 + TTL_SECONDS - 1
    assert await queries(recent) == ["partner:new", "partner:old"]
    clock.now = T0 + TTL_SECONDS
    assert await queries(recent) == ["partner:new"]
    clock.now = T0 + 3600 + TTL_SECONDS
    assert await queries(recent) == []


async def test_an_expired_entry_does_not_take_a_slot():
    recent, clock = store(limit=2)
    await recent.record("T1", "U1", "partner:a", "found", "command")
    clock.now += TTL_SECONDS + 1
    await recent.record("T1", "U1", "partner:b", "found", "command")
    await recent.record("T1", "U1", "partner:c", "found", "command")
    assert await queries(recent) == ["partner:c", "partner:b"]


async def test_the_same_user_id_in_two_workspaces_never_sees_the_other_list():
    recent, _ = store()
    await recent.record("T1", "U1", "partner:one", "found", "command")
    await recent.record("T2", "U1", "partner:two", "found", "command")
    assert await queries(recent, "T1", "U1") == ["partner:one"]
    assert await queries(recent, "T2", "U1") == ["partner:two"]
    assert await queries(recent, "T1", "U2") == []


async def test_ids_with_a_colon_cannot_forge_another_users_key():
    recent, _ = store()
    await recent.record("T1:U1", "X", "partner:a", "found", "command")
    await recent.record("T1", "U1:X", "partner:b", "found", "command")
    assert await queries(recent, "T1", "U1") == []
    assert await queries(recent, "T1:U1", "X") == []


async def test_the_least_recently_used_user_is_forgotten_beyond_the_cap():
    recent, _ = store(max_users=3)
    for user in ("U1", "U2", "U3"):
        await recent.record("T1", user, "partner:a", "found", "command")
    assert await queries(recent, "T1", "U1") == ["partner:a"]  # reading U1 makes U2 the oldest
    await recent.record("T1", "U4", "partner:a", "found", "command")
    assert await queries(recent, "T1", "U2") == []
    for user in ("U1", "U3", "U4"):
        assert await queries(recent, "T1", user) == ["partner:a"]


async def test_the_default_cap_is_ten_thousand_users():
    recent, _ = store(limit=1)
    for i in range(10_001):
        await recent.record("T1", f"U{i}", "bik:1", "found", "command")
    assert await queries(recent, "T1", "U0") == []
    assert await queries(recent, "T1", "U1") == ["bik:1"]
    assert await queries(recent, "T1", "U10000") == ["bik:1"]


@pytest.mark.parametrize(
    "text",
    [
        "Jane Doe",
        "jane@example.com",
        "+91 98765 43210",
        "partner:",
        "partner:two words",
        "partner:ctrl\x00char",
        "bik:abc",
        "bik:12345678901234567890",
        "email:jane@example.com",
        "abc",
        "partner:" + "x" * 133,
    ],
)
async def test_only_ids_are_ever_stored(text):
    recent, _ = store()
    await recent.record("T1", "U1", text, "found", "command")
    assert await recent.list("T1", "U1") == []


def test_a_partner_id_of_the_longest_allowed_length_is_kept():
    query = "partner:" + "x" * 128
    assert normalise_query(query) == query


async def test_outcome_and_surface_are_bounded():
    recent, _ = store()
    await recent.record("T1", "U1", "bik:1", "x" * 1000, "  " + "s" * 1000)
    [entry] = await recent.list("T1", "U1")
    assert entry.outcome == "x" * MAX_LABEL_CHARS
    assert entry.surface == "s" * MAX_LABEL_CHARS


async def test_unprintable_or_empty_outcome_and_surface_become_unknown():
    recent, _ = store()
    await recent.record("T1", "U1", "bik:1", "bad\nline", "")
    [entry] = await recent.list("T1", "U1")
    assert (entry.outcome, entry.surface) == ("unknown", "unknown")


@pytest.mark.parametrize("at", [float("nan"), float("inf"), -1.0, T0 + 10 * 24 * 3600])
async def test_an_impossible_time_is_replaced_by_now(at):
    recent, _ = store()
    await recent.record("T1", "U1", "bik:1", "found", "command", at=at)
    [entry] = await recent.list("T1", "U1")
    assert entry.at == T0


async def test_an_explicit_time_is_kept():
    recent, _ = store()
    await recent.record("T1", "U1", "bik:1", "found", "command", at=T0 - 30)
    [entry] = await recent.list("T1", "U1")
    assert entry.at == T0 - 30


def test_an_encoded_entry_decodes_to_itself():
    entry = Recent("partner:ü-1", "found", "message_shortcut", T0 + 0.25)
    assert decode(encode(entry)) == entry


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"q":"partner:a","o":"found","s":"command"}',
        b'{"q":"Jane Doe","o":"found","s":"command","t":1}',
        b'{"q":"partner:a","o":"' + b"x" * 40 + b'","s":"command","t":1}',
        b'{"q":"partner:a","o":"found","s":7,"t":1}',
        b'{"q":"partner:a","o":"found","s":"command","t":true}',
        b'{"q":"partner:a","o":"found","s":"command","t":"1"}',
        b'{"q":"partner:a","o":"found","s":"command","t":-5}',
        b'{"q":"partner:a","o":"found","s":"command","t":1,"pad":"' + b"x" * 4096 + b'"}',
    ],
)
def test_malformed_stored_entries_are_skipped(raw):
    assert decode(raw) is None
