"""The in-process replay memory: one TTL, constant time per call, bounded."""

from __future__ import annotations

from bot.ratelimit import SeenOnce


def test_a_key_is_new_once_within_its_ttl_and_new_again_after():
    seen = SeenOnce(ttl=10)
    assert [seen.first("a", 0), seen.first("a", 9.9), seen.first("a", 10.1), seen.first("b", 10.1)] == [
        True,
        False,
        True,
        True,
    ]


def test_the_memory_is_bounded():
    seen = SeenOnce(ttl=1000, cap=100)
    for i in range(1000):
        seen.first(str(i), 0)
    assert len(seen._seen) == 100


def test_expired_keys_leave_as_time_passes():
    seen = SeenOnce(ttl=600)
    for i in range(50_000):  # 50 requests a second for 1,000 s
        seen.first(f"request:{i}", i / 50)
    assert len(seen._seen) == 600 * 50  # only the last 10 minutes are kept
