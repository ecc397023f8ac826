"""Logging: JSON lines in production, readable lines in a terminal, one pipeline for every library.

Our code logs through structlog; Bolt, uvicorn and httpx log through the standard library. Both end in
the same handler, rendered by structlog's ``ProcessorFormatter``, so every line has the same shape.
A last processor scrubs the configured secrets from every line as a safety net: secrets are never
logged on purpose, and this makes an accident (a token inside an exception message) harmless.
"""

from __future__ import annotations

import logging
import secrets
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

_secrets: list[str] = []
LIBRARIES_WITH_PAYLOADS = (
    "slack_bolt",
    "slack_sdk",
    "aiohttp",
    "httpx",
    "httpcore",
    "uvicorn",
)
DATABASE_LIBRARIES = ("aiosqlite", "sqlalchemy", "alembic", "asyncpg")
"""They log statements with their parameters (OAuth states, sealed credentials, Slack tokens) at INFO
or DEBUG: never below WARNING, whatever LOG_LEVEL says."""
REDACTED = "[redacted]"


_by_prefix: dict[str, list[str]] = {}
"""The secrets by their first :data:`_PREFIX` characters: with many workspaces (distribution mode
registers each one's bot token and BIK credentials) a line is scrubbed in time proportional to its
length, not to the number of secrets (3,000 secrets cost 2.7 ms per line the naive way)."""
_PREFIX = 6
_FEW = 32


def register_secrets(values: Iterable[str | None]) -> None:
    """Values that must never appear in a log line (tokens, signing secret, BIK credentials)."""
    for value in values:
        if value and len(value) >= _PREFIX and value not in _by_prefix.get(value[:_PREFIX], ()):
            _secrets.append(value)
            _by_prefix.setdefault(value[:_PREFIX], []).append(value)


def _scrub_text(value: str) -> str:
    if len(_secrets) <= _FEW:
        for secret in _secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    found = {
        secret
        for i in range(len(value) - _PREFIX + 1)
        for secret in _by_prefix.get(value[i : i + _PREFIX], ())
        if value.startswith(secret, i)
    }
    for secret in sorted(found, key=len, reverse=True):
        value = value.replace(secret, REDACTED)
    return value


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def scrub_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    if not _secrets:
        return event_dict
    for key, value in event_dict.items():
        event_dict[key] = _scrub(value)
    return event_dict


def configure_logging(level: str = "INFO", *, json_lines: bool | None = None) -> None:
    """Route structlog and stdlib logging to stderr; JSON unless stderr is a terminal."""
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            scrub_secrets,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    numeric = logging.getLevelName(level)
    # Libraries that log request and response *bodies* at DEBUG (Bolt logs every ack, slack_sdk every
    # API answer): those bodies hold customer data, so they never go below INFO, whatever LOG_LEVEL
    # says. LOG_LEVEL=DEBUG is for the bot's own loggers.
    for name in LIBRARIES_WITH_PAYLOADS:
        logging.getLogger(name).setLevel(max(logging.INFO, numeric))
    for name in DATABASE_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, numeric))
    # Chatty libraries whose INFO lines only repeat what the audit line says.
    for name in ("httpx", "httpcore", "uvicorn.access", "aiohttp.access"):
        logging.getLogger(name).setLevel(max(logging.WARNING, numeric))

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)


def new_ref() -> str:
    """A short reference for one Slack request: every log line written for it carries it as ``ref``
    (structlog's context variables, inherited by the tasks the request spawns), and the errors users
    see quote it, so a screenshot leads to the log lines (SPEC section 10)."""
    return secrets.token_hex(4)


def current_ref() -> str | None:
    ref = structlog.contextvars.get_contextvars().get("ref")
    return ref if isinstance(ref, str) else None
