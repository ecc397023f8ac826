"""Distribution mode (SPEC 11): which workspace a request is for, and everything it gets of its own.

A :class:`Tenant` is one installation — a workspace, or an org-wide (Enterprise Grid) install — with its
bot token, its BIK client (on the process's one shared connection pool, with the workspace's own
credentials), its policy and its Slack directory (whose caches are therefore the workspace's own).
Each is a :class:`~bot.lookup.LookupService` of its own, so single-flight keys never cross
workspaces, and it carries the workspace key into rate-limit, recent-lookup and audit keys.

Tenants are built on first use and cached in-process. Every change to a workspace (policy, BIK
connection, install, token rotation, uninstall) appends a row to ``workspace_changes``; :meth:`watch`
reads new rows every :data:`POLL_SECONDS` and drops those workspaces from the cache, so a change
made in one process applies in every process within about a second, and a revoked token is dropped
everywhere. The request's tenant travels in a context variable, set once per request by the app
before Bolt runs (:func:`bot.app.dispatch`), and read by the listeners through :meth:`current`.
"""

from __future__ import annotations

import asyncio
import time
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import HOME_TAB_POLICY, Policy, PolicyError
from bot.audit import Audit
from bot.bik.client import BikClient
from bot.logs import get_logger, register_secrets
from bot.lookup import Installation, LookupService, RateLimiter
from bot.recent import RecentLookups
from bot.slack_directory import SlackDirectory

if TYPE_CHECKING:  # the database stack is imported only in distribution mode (process start-up time)
    from slack_sdk.oauth.installation_store import Bot as SlackBot
    from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
    from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator

    from bot.workspaces import WorkspaceStore

log = get_logger("bik.tenants")

POLL_SECONDS = 1.0
"""How often every process reads the change feed: a change applies everywhere within ~1 s (≤ 5 s)."""
MAX_AGE_SECONDS = 300.0
"""A cached tenant is rebuilt at least this often, should a change row ever be missed."""
ROTATE_MINUTES = 120
"""Rotate a bot token this long before it expires (Bolt's default)."""
ROTATION_TIMEOUT = 1.5
"""A rotation runs before the request it serves is acknowledged: at most this long."""
ROTATION_RETRY_SECONDS = 60.0
"""After a failed rotation, the current token serves this long before the next attempt."""

_CURRENT: ContextVar[Tenant | None] = ContextVar("bik_tenant", default=None)


def workspace_key(
    enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
) -> str | None:
    """``E…`` for an org-wide install, else the workspace's ``T…``."""
    if is_enterprise_install:
        return enterprise_id or None
    return team_id or None


@dataclass(slots=True)
class Tenant:
    key: str
    name: str
    enterprise_id: str | None
    team_id: str | None
    is_enterprise_install: bool
    bot_token: str
    bot_user_id: str | None
    bot_id: str | None
    expires_at: int | None
    """The bot token's expiry (token rotation on), epoch seconds."""
    service: LookupService
    client: AsyncWebClient
    """Slack Web API with this workspace's bot token (users.info for the admin check, the directory)."""
    loaded_at: float


class NoTenant(LookupError):
    """A listener ran without a resolved workspace: a wiring bug, never a user's doing."""


class Tenants:
    def __init__(
        self,
        *,
        store: WorkspaceStore,
        installations: AsyncSQLAlchemyInstallationStore,
        http: httpx.AsyncClient,
        bik_base_url: str,
        bik_timeout: float,
        limiter: RateLimiter | None,
        recent: RecentLookups,
        audit: Audit,
        dashboard_url: str | None,
        slack_api_url: str,
        rotator: AsyncTokenRotator | None = None,
    ) -> None:
        self.store = store
        self.installations = installations
        self._http = http
        self._bik_base_url = bik_base_url
        self._bik_timeout = bik_timeout
        self._limiter = limiter
        self._recent = recent
        self._audit = audit
        self._dashboard_url = dashboard_url
        self._slack_api_url = slack_api_url
        self._rotator = rotator
        self._cache: dict[str, Tenant | None] = {}
        self._loaded: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._generations: dict[str, int] = {}
        self._rotation_paused: dict[str, float] = {}
        self._last_change = 0

    # -- the request's tenant -------------------------------------------------------------------

    @staticmethod
    def enter(tenant: Tenant | None) -> None:
        _CURRENT.set(tenant)

    @staticmethod
    def current_tenant() -> Tenant | None:
        return _CURRENT.get()

    @staticmethod
    def current() -> LookupService:
        tenant = _CURRENT.get()
        if tenant is None:
            raise NoTenant("no workspace for this request")
        return tenant.service

    # -- resolving ------------------------------------------------------------------------------

    async def get(
        self, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
    ) -> Tenant | None:
        """The installation a request is for (Bolt's reading of the payload: ``authorizations`` for
        events, ``view.app_installed_team_id`` for modals), or None when it is not installed."""
        key = workspace_key(enterprise_id, team_id, is_enterprise_install)
        if key is None:
            return None
        now = time.monotonic()
        if key in self._cache and now - self._loaded[key] < MAX_AGE_SECONDS:
            tenant = self._cache[key]
            if tenant is None or not self._expiring(tenant):
                return tenant
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # one load (or rotation) per workspace at a time
            if key in self._cache and time.monotonic() - self._loaded[key] < MAX_AGE_SECONDS:
                tenant = self._cache[key]
                if tenant is None or not self._expiring(tenant):
                    return tenant
            generation = self._generations.get(key, 0)
            tenant = await self._load(key, bool(is_enterprise_install))
            if self._generations.get(key, 0) == generation:
                self._cache[key] = tenant
                self._loaded[key] = time.monotonic()
            # else: the workspace changed while it loaded (the feed dropped it meanwhile): what was
            # read may be the old state, so it serves this one request and is not kept.
            return tenant

    def _expiring(self, tenant: Tenant) -> bool:
        """Due for rotation, unless a rotation just failed (Slack down): then the current token, still
        valid for up to 2 hours, serves until :data:`ROTATION_RETRY_SECONDS` have passed."""
        if time.monotonic() < self._rotation_paused.get(tenant.key, 0.0):
            return False
        return tenant.expires_at is not None and tenant.expires_at < time.time() + ROTATE_MINUTES * 60

    async def _find_bot(self, key: str, org_wide: bool) -> SlackBot | None:
        """The newest bot installation for this workspace key. Team ids are unique across Slack, so a
        workspace install is found by its team alone (a Slack Connect modal's ``enterprise`` is the
        clicker's org, not the installer's); an org-wide install by its enterprise."""
        table = self.installations.bots
        c = table.c
        where = [c.client_id == self.installations.client_id, c.bot_token.is_not(None)]
        if org_wide:
            where += [c.enterprise_id == key, c.is_enterprise_install.is_(True)]
        else:
            where += [c.team_id == key, c.is_enterprise_install.is_(False)]
        from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

        query = table.select().where(*where).order_by(c.installed_at.desc()).limit(1)
        async with self.installations.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return SQLAlchemyInstallationStore.build_bot_entity(row) if row is not None else None

    async def _delete_tokens(self, key: str, org_wide: bool) -> None:
        """Every bot and installation row of this workspace key, in one transaction."""
        store = self.installations
        async with store.engine.begin() as conn:
            for table in (store.bots, store.installations):
                c = table.c
                match = (
                    (c.enterprise_id == key) & c.is_enterprise_install.is_(True)
                    if org_wide
                    else (c.team_id == key) & c.is_enterprise_install.is_(False)
                )
                await conn.execute(table.delete().where(c.client_id == store.client_id, match))

    async def _load(self, key: str, org_wide: bool) -> Tenant | None:
        bot = await self._find_bot(key, org_wide)
        if bot is None or not bot.bot_token:
            return None
        bot = await self._rotated(key, bot)
        token = bot.bot_token
        assert token is not None
        register_secrets([token, bot.bot_refresh_token])
        client = AsyncWebClient(token=token, base_url=self._slack_api_url, timeout=10)
        from bot.credentials import CredentialsUnreadable

        bik: BikClient | None = None
        try:
            credentials = await self.store.bik_credentials(key)
        except CredentialsUnreadable:
            log.error(
                "bik_credentials_unreadable", workspace=key, fix="restore the old key in BIK_CREDENTIALS_KEYS"
            )
            credentials = None
        if credentials is not None:
            bik = BikClient(
                http=self._http,
                base_url=self._bik_base_url,
                authorization=credentials.authorization,
                timeout=self._bik_timeout,
            )
        stored = await self.store.policy(key)
        policy = Policy.deny_all(Path(HOME_TAB_POLICY))
        if stored is not None:
            try:
                policy = Policy.from_toml(stored.document, source=HOME_TAB_POLICY)
            except PolicyError as exc:  # validated on save: only a hand-edited row gets here
                log.error(
                    "workspace_policy_invalid",
                    workspace=key,
                    problem=str(exc),
                    effect="every channel is denied",
                )
        service = LookupService(
            bik=bik,
            policy=policy,
            directory=SlackDirectory(client),
            limiter=self._limiter,
            dashboard_url=self._dashboard_url,
            audit=self._audit,
            installation=Installation(team_id=bot.team_id, enterprise_id=bot.enterprise_id),
            recent=self._recent,
            workspace=key,
        )
        name = (bot.enterprise_name if org_wide else bot.team_name) or ""
        return Tenant(
            key=key,
            name=name,
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            is_enterprise_install=org_wide,
            bot_token=token,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
            expires_at=bot.bot_token_expires_at,
            service=service,
            client=client,
            loaded_at=time.monotonic(),
        )

    async def _rotated(self, key: str, bot: SlackBot) -> SlackBot:
        """Token rotation (SPEC 11): a bot token close to expiry is refreshed and saved before use."""
        if self._rotator is None or bot.bot_token_expires_at is None:
            return bot
        try:
            # Inside a request's acknowledgement: bounded, and never retried on every request.
            rotated = await asyncio.wait_for(
                self._rotator.perform_bot_token_rotation(bot=bot, minutes_before_expiration=ROTATE_MINUTES),
                ROTATION_TIMEOUT,
            )
        except Exception as exc:  # noqa: BLE001 - Slack down: the current token still has up to 2 h left
            log.error("token_rotation_failed", workspace=key, error=type(exc).__name__)
            self._rotation_paused[key] = time.monotonic() + ROTATION_RETRY_SECONDS
            return bot
        if rotated is None:
            return bot
        await self.installations.async_save_bot(rotated)
        await self.store.announce(key, "tokens", actor="slack", summary="bot token rotated")
        log.info("token_rotated", workspace=key)
        return rotated

    def drop(self, key: str) -> None:
        """Forget ``key``; a load of it already under way will not be cached either."""
        self._cache.pop(key, None)
        self._loaded.pop(key, None)
        self._generations[key] = self._generations.get(key, 0) + 1

    # -- keeping every process current ----------------------------------------------------------

    async def start(self) -> None:
        self._last_change = await self.store.last_change()

    async def refresh(self) -> set[str]:
        """Drop every workspace changed since the last read of the feed; returns their keys."""
        self._last_change, changed = await self.store.changes_since(self._last_change)
        for key in changed:
            self.drop(key)
        return changed

    async def watch(self, interval: float = POLL_SECONDS) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except Exception as exc:  # noqa: BLE001 - the database is down: try again next tick
                log.warning("change_feed_failed", error=type(exc).__name__)

    # -- uninstall and revocation ---------------------------------------------------------------

    async def revoke(
        self,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None,
        *,
        uninstall: bool,
    ) -> str | None:
        """``app_uninstalled`` (``uninstall``) or ``tokens_revoked`` for the bot: the workspace's tokens
        are deleted — the bot rows *and* the installation rows, which carry the bot token too — and,
        on uninstall, its BIK credentials and policy. Every process drops it at its next feed read;
        this one at once. The token is not used again, not even to say goodbye."""
        key = workspace_key(enterprise_id, team_id, is_enterprise_install)
        if key is None:
            return None
        self.drop(key)
        await self._delete_tokens(key, bool(is_enterprise_install))
        if uninstall:
            await self.store.forget(key, actor="slack")
        else:
            await self.store.announce(
                key, "tokens", actor="slack", summary="bot token revoked: tokens deleted"
            )
        self.drop(key)
        log.info("workspace_revoked", workspace=key, uninstalled=uninstall)
        return key


def installation_ids(body: dict[str, Any]) -> tuple[str | None, str | None, bool]:
    """Which installation a verified request is for, read as Bolt reads it (``authorizations[0]`` for
    events, ``view.app_installed_team_id`` for modals, else ``team``/``enterprise``)."""
    from slack_bolt.request.internals import (
        extract_enterprise_id,
        extract_is_enterprise_install,
        extract_team_id,
    )

    return extract_enterprise_id(body), extract_team_id(body), bool(extract_is_enterprise_install(body))
