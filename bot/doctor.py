"""``python -m bot doctor``: check configuration, the policy, Slack and BIK, and say what is wrong in
plain words. Exit status 0 when everything answered, 1 otherwise."""

from __future__ import annotations

import asyncio
import sys

from bot.access import Policy, PolicyError
from bot.bik.errors import BikError, NotFound, Rejected
from bot.config import ConfigError, Settings, load_settings
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
        mode = (
            "distribution (many workspaces)"
            if settings.distribution
            else ("socket" if settings.socket_mode else "http")
        )
        results.append(_say(True, "configuration", f"mode {mode}"))
    except ConfigError as exc:
        _say(False, "configuration", str(exc))
        return 1
    if settings.distribution:
        if probe:
            _say(
                True,
                "BIK",
                "--probe does not apply in distribution mode: each workspace has its own credentials",
            )
        results += await _check_distribution(settings)
        if settings.redis_url:
            from bot.ratelimit import UserRateLimiter

            try:
                await UserRateLimiter(settings.bik_rate_limit, redis_url=settings.redis_url).check_ready()
                results.append(_say(True, "Redis", "rate-limit store answers"))
            except Exception as exc:  # noqa: BLE001 - report, don't crash
                results.append(_say(False, "Redis", f"{type(exc).__name__}: check REDIS_URL"))
        return 0 if all(results) else 1
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


async def _check_distribution(settings: Settings) -> list[bool]:
    """Distribution mode: the database answers and is migrated, and the keys open every stored BIK
    credential (a key removed too soon locks a workspace out). Slack and BIK are per workspace."""
    from bot.credentials import CredentialBox, CredentialsUnreadable
    from bot.db import create_engine, current_revision, head_revision
    from bot.workspaces import WorkspaceStore

    results: list[bool] = []
    engine = create_engine(settings.database_url)
    try:
        try:
            revision = await current_revision(engine)
        except Exception as exc:  # noqa: BLE001 - report, don't crash
            return [_say(False, "database", f"{type(exc).__name__}: check DATABASE_URL")]
        head = head_revision()
        results.append(
            _say(
                revision == head,
                "database",
                f"{engine.dialect.name}, schema {revision or 'empty'}"
                + ("" if revision == head else f" (run `python -m bot db upgrade` to reach {head})"),
            )
        )
        if revision != head:
            return results
        store = WorkspaceStore(engine, CredentialBox(settings.credential_keys))
        listed = await store.listed()
        unreadable = []
        for workspace in listed:
            try:
                await store.bik_credentials(workspace.workspace)
            except CredentialsUnreadable:
                unreadable.append(workspace.workspace)
        installed = [w for w in listed if w.installed]
        connected = sum(w.bik_connected for w in installed)
        results.append(
            _say(
                not unreadable,
                "workspaces",
                f"{len(installed)} installed, {connected} of them with BIK connected"
                + (f"; no key in BIK_CREDENTIALS_KEYS opens {', '.join(unreadable)}" if unreadable else ""),
            )
        )
    finally:
        await engine.dispose()
    return results


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
