"""Posting replies to a command's ``response_url`` with the process's shared HTTP client.

Bolt's ``respond()`` opens a new aiohttp session per call; this reuses the pooled client instead.
A failed post (5xx, 429, connection error) is retried with backoff, honouring ``Retry-After``, within
Slack's allowance of five posts per ``response_url``; a reply that still cannot be delivered is logged
as an error, never dropped silently.
"""

from __future__ import annotations

from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bot.logs import get_logger
from bot.metrics import METRICS

log = get_logger("bik.delivery")

MAX_ATTEMPTS = 3  # of Slack's 5 uses per response_url: leaves room for a share and a retry by hand
MAX_RETRY_AFTER = 10.0


class _Retryable(Exception):
    def __init__(self, status: int | None, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}" if status else "connection failed")
        self.status = status
        self.retry_after = retry_after


SLACK_HOOKS = ("https://hooks.slack.com/", "https://hooks.slack-gov.com/")
"""Where Slack's response_urls live (SLACK_RESPONSE_URL_PREFIXES replaces these, for tests and staging)."""


class ResponseUrlPoster:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        timeout: float = 5.0,
        attempts: int = MAX_ATTEMPTS,
        backoff_initial: float = 0.5,
        allowed_prefixes: tuple[str, ...] = SLACK_HOOKS,
    ) -> None:
        self._http = http
        self._allowed = allowed_prefixes
        self._timeout = timeout
        self._attempts = attempts
        self._backoff = wait_exponential_jitter(multiplier=backoff_initial, max=8, jitter=0.3)

    def _wait(self, state: RetryCallState) -> float:
        backoff = self._backoff(state)
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retryable) and error.retry_after is not None:
            return max(backoff, min(error.retry_after, MAX_RETRY_AFTER))
        return backoff

    async def post(self, url: str | None, message: dict[str, Any], *, purpose: str = "reply") -> bool:
        """POST ``message``; True once Slack accepted it, False (logged) when it never did."""
        delivered = await self._post(url, message, purpose)
        METRICS.reply("response_url", delivered)
        return delivered

    async def _post(self, url: str | None, message: dict[str, Any], purpose: str) -> bool:
        if not url or not url.startswith(("https://", "http://")):
            log.error("reply_undelivered", purpose=purpose, reason="the request carried no response_url")
            return False
        if not url.startswith(self._allowed):
            # Customer data goes to Slack's hooks only: a payload naming another host (forged with a
            # leaked signing secret) gets nothing out of the bot.
            log.error("reply_refused", purpose=purpose, reason="response_url is not Slack's")
            return False
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._once(url, message)
        except _Retryable as exc:
            log.error("reply_undelivered", purpose=purpose, reason=str(exc), attempts=self._attempts)
            return False
        except httpx.HTTPStatusError as exc:
            log.error("reply_rejected", purpose=purpose, status=exc.response.status_code)
            return False
        return True

    async def _once(self, url: str, message: dict[str, Any]) -> None:
        try:
            response = await self._http.post(url, json=message, timeout=self._timeout)
        except httpx.TransportError as exc:
            raise _Retryable(None) from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Retryable(status, retry_after_seconds(response.headers.get("retry-after")))
        response.raise_for_status()


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (never negative), or None when absent or unreadable."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None
