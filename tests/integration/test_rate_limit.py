"""The per-user lookup budget (BIK_RATE_LIMIT): in memory, and shared through a real Redis by two
real bot processes."""

from __future__ import annotations

import uuid

from tests.fakes.botserver import SlackClient
from tests.fakes.process import BotProcess, stand_in_env


def _is_card(response):
    return response.json()["blocks"][0]["type"] == "header"


def test_memory_limit_throttles_with_when_to_retry_and_no_bik_call(start_bot, bik, slack, logs):
    _, client = start_bot(bik_rate_limit="2/minute")
    first = client.command("abcd-122345", response_url=slack.new_hook())
    second = client.command("vip-7", response_url=slack.new_hook())
    third = client.command("sparse", response_url=slack.new_hook())
    assert _is_card(first) and _is_card(second)
    text = third.json()["text"]
    assert "limit of customer lookups" in text and "Try again in" in text
    assert bik.count() == 2
    assert logs.events("lookup")[-1]["outcome"] == "rate_limited"


def test_each_query_counts_and_users_have_their_own_budget(start_bot, bik, slack):
    _, client = start_bot(bik_rate_limit="3/minute")
    assert _is_card(client.command("abcd-122345 vip-7", user="UA", response_url=slack.new_hook()))
    assert (
        "limit" in client.command("sparse hostile", user="UA", response_url=slack.new_hook()).json()["text"]
    )
    assert _is_card(client.command("abcd-122345", user="UB", response_url=slack.new_hook()))
    assert bik.count() == 3


def test_invalid_input_and_help_do_not_spend_the_budget(start_bot, slack):
    _, client = start_bot(bik_rate_limit="1/minute")
    client.command("help", response_url=slack.new_hook())
    client.command("bik:nope", response_url=slack.new_hook())
    assert _is_card(client.command("abcd-122345", response_url=slack.new_hook()))


def test_two_processes_share_one_budget_through_redis(redis_url, bik, slack, tmp_path):
    env = stand_in_env(bik, slack, tmp_path, BIK_RATE_LIMIT="3/minute", REDIS_URL=redis_url)
    user = "U" + uuid.uuid4().hex[:10].upper()  # a fresh budget in a Redis that may be shared
    first, second = BotProcess(env, cwd=tmp_path), BotProcess(env, cwd=tmp_path)
    try:
        first.start()
        second.start()
        clients = [SlackClient(first.url), SlackClient(second.url)]
        answers = [
            clients[i % 2].command("abcd-122345", user=user, response_url=slack.new_hook()) for i in range(4)
        ]
        assert [_is_card(a) for a in answers] == [True, True, True, False]
        assert "limit of customer lookups" in answers[3].json()["text"]
        assert bik.count() == 3
        assert '"rate_limit_store": "redis"' in first.logs()
        for process in (first, second):
            assert process.terminate() == 0
            assert '"event": "stopped"' in process.logs()
    finally:
        first.kill()  # whatever failed above, no process outlives the test
        second.kill()


def test_a_request_seen_by_one_process_is_a_replay_for_another_through_redis(redis_url):
    import asyncio

    from bot.ratelimit import UserRateLimiter

    async def both() -> list[bool]:
        first, second = (
            UserRateLimiter("5/minute", redis_url=redis_url),
            UserRateLimiter("5/minute", redis_url=redis_url),
        )
        key = f"request:v0={uuid.uuid4().hex}"
        return [await first.first_time(key), await second.first_time(key), await second.first_time(key + "x")]

    assert asyncio.run(both()) == [True, False, True]
