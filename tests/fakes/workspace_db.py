"""A distribution-mode database seen from a test: what an admin (Home tab) or an operator (CLI) writes,
through the same store, and raw SQL to look at the rows. Each call opens its own engine on its own
event loop, so a test thread never shares the bot's."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr

from bot.credentials import BikCredentials, CredentialBox
from bot.db import create_engine
from bot.workspaces import WorkspaceStore

CREDENTIALS_KEY = "0Yx0Zq4m3Jg2r0Jm8Zc1n3oH5d6Qz9WfV1b2L3k4M5A="
"""The Fernet key the test bots run with (``BIK_CREDENTIALS_KEYS``)."""


def seed(
    url: str, key: str, *, token: str | None = None, policy: str | None = None, actor: str = "UADMIN"
) -> None:
    """Connect BIK with ``token`` and/or save ``policy`` for workspace ``key``."""

    async def run() -> None:
        engine = create_engine(url)
        try:
            store = WorkspaceStore(engine, CredentialBox([CREDENTIALS_KEY]))
            if token is not None:
                await store.connect_bik(key, BikCredentials(token=SecretStr(token)), actor=actor)
            if policy is not None:
                await store.save_policy(key, policy, actor=actor, summary="test policy")
        finally:
            await engine.dispose()

    asyncio.run(run())


def rows(url: str, sql: str) -> list[Any]:
    """The rows of a query the test writes itself."""

    async def run() -> list[Any]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(sa.text(sql))).all())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def execute(url: str, sql: str) -> None:
    """A statement the test writes itself, committed."""

    async def run() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(sa.text(sql))
        finally:
            await engine.dispose()

    asyncio.run(run())
