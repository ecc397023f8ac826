"""``python -m bot doctor``: check configuration, the policy, Slack and BIK, and say what is wrong in
plain words. Exit status 0 when everything answered, 1 otherwise."""

from __future__ import annotations

import asyncio
import sys

from bot.access import Policy, PolicyError
from bot.bik.errors import BikError, NotFound, Rejected
from bot.config import ConfigError, load_settings
from bot.logs import configure_logging
from bot.query import QueryError, parse_query


def _say(ok: bool, what: str, detail: str) -> bool:
    print(f"{'ok' if ok else 'FAIL':<4}  {what}: {detail}")
    return ok


async def run_doctor(*, probe: str | None = None) -> int:
    configure_logging("CRITICAL")
    results: list[bool] = []
    try:
        settings = load_settings()
        settings.require_for_serving()
        results.append(_say(True, "configuration", f"mode {'socket' if settings.socket_mode else 'http'}"))
    except ConfigError as exc:
        _say(False, "configuration", str(exc))
        return 1
    try:
        policy = Policy.load(settings.bik_access_policy)
        detail = (
            f"{policy.path} allows {policy.allowed_channel_count} channel(s)"
            if policy.loaded
            else f"{policy.path} not found: every channel is denied"
        )
        results.append(_say(policy.loaded, "access policy", detail))
    except PolicyError as exc:
        results.append(_say(False, "access policy", str(exc)))
        policy = Policy.deny_all(settings.bik_access_policy)

    from bot.app import build_bot

    bot = build_bot(settings, policy=policy)
    try:
        await bot.ask_slack()  # once: the doctor reports, it does not wait for Slack
        if bot.identity.get("ok"):
            results.append(
                _say(
                    True,
                    "Slack",
                    f"token works for team {bot.identity.get('team')} as {bot.identity.get('user')}",
                )
            )
        else:
            results.append(_say(False, "Slack", "auth.test failed: check SLACK_BOT_TOKEN and SLACK_API_URL"))
        results.append(await _check_bik(bot, probe))
        if settings.redis_url:
            try:
                await bot.limiter.check_ready()
                results.append(_say(True, "Redis", "rate-limit store answers"))
            except Exception as exc:  # noqa: BLE001 - report, don't crash
                results.append(_say(False, "Redis", f"{type(exc).__name__}: check REDIS_URL"))
    finally:
        await bot.http.aclose()
    return 0 if all(results) else 1


async def _check_bik(bot: object, probe: str | None) -> bool:
    from bot.app import Bot

    assert isinstance(bot, Bot)
    try:
        query = parse_query(probe or "partner:bik-slack-doctor-probe")
    except QueryError as exc:
        return _say(False, "BIK", f"--probe is not a valid query: {exc.message}")
    if bot.settings.bik_sandbox:
        # Never "credentials accepted" for the sandbox: a BIK_SANDBOX left on in production would
        # pass the doctor while users see made-up customers.
        return _say(False, "BIK", "BIK_SANDBOX is on: answers come from the bundled sandbox, not BIK")
    try:
        fetched = await bot.service.bik.get_customer(query)
        return _say(True, "BIK", f"{bot.service.bik.url} answered; {query} found (HTTP {fetched.status})")
    except NotFound:
        detail = (
            "credentials accepted (the probe id does not exist, as expected)"
            if not probe
            else f"{query} not found"
        )
        return _say(probe is None, "BIK", detail)
    except Rejected as exc:
        return _say(False, "BIK", f"BIK rejected the probe: {exc.detail}")
    except BikError as exc:
        hints = {
            "unauthorized": "credentials rejected: fix BIK_API_TOKEN (or BIK_API_KEY/BIK_API_SECRET)",
            "wrong_address": "404: fix BIK_API_BASE_URL",
            "unavailable": "BIK unreachable or failing (5xx/connection error)",
            "timeout": f"no answer within {bot.settings.bik_timeout_seconds:g} s",
            "unexpected": "the answer was not what BIK documents: is BIK_API_BASE_URL right?",
        }
        return _say(False, "BIK", hints.get(exc.kind, exc.kind))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(asyncio.run(run_doctor()))
