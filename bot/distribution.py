"""Wiring of distribution mode (SPEC 11): the database, Slack's OAuth install flow and stores, and
the per-workspace :class:`~bot.tenants.Tenants`. Built by :func:`bot.app.build_bot` when
``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` are set and ``SLACK_BOT_TOKEN`` is not.

Bolt's own authorization is replaced by :func:`authorize`, which answers from the tenant the app
resolved before Bolt ran: no ``auth.test`` per request (Bolt's installation-store authorize calls it
for every uncached request, inside Slack's 3-second deadline), and no path by which a deleted token
could come back from a cache.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Installation as SlackInstallation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit import Audit
from bot.config import Settings
from bot.connect import TrialThrottle
from bot.credentials import CredentialBox
from bot.db import create_engine
from bot.intake import QuietLog
from bot.logs import get_logger, register_secrets
from bot.lookup import RateLimiter
from bot.recent import RecentLookups
from bot.tenants import Tenants, installation_ids, workspace_key  # noqa: F401 - installation_ids: re-exported
from bot.workspaces import WorkspaceStore

log = get_logger("bik.install")
STATE_SECONDS = 600
MAX_STATES = 10_000
"""Live OAuth states at most (each anonymous ``GET /slack/install`` issues one, kept
:data:`STATE_SECONDS`); past it the install page answers 503 until some expire."""
RETRY_AFTER_SECONDS = 60
MAX_STATE_CHARS = 200
"""slack_sdk's column; a state we issue is a uuid4 (36)."""
TEAM_HINT = re.compile(r"^[TE][A-Z0-9]{2,30}$")
"""``/slack/install?team=…`` is passed on to Slack's authorize URL only when it is a team (or org) id."""
BUSY_PAGE = (
    "<!DOCTYPE html><html><head><title>Try again in a minute</title></head><body>"
    "<p>Too many installations are in progress right now. Try again in a minute.</p></body></html>"
)


class TooManyStates(Exception):
    """:data:`MAX_STATES` OAuth states are live: no new one is issued."""


class BoundedStateStore(AsyncSQLAlchemyOAuthStateStore):
    """slack_sdk's SQL state store, bounded: every issue first deletes the expired states (slack_sdk
    only ever deletes the one it consumes, so every anonymous ``GET /slack/install`` left a row
    forever), and refuses (:class:`TooManyStates`) when ``max_live`` are live. Several processes
    may each pass the count at once: the table stays within ``max_live`` plus the number of
    concurrent installs."""

    def __init__(self, *, expiration_seconds: int, engine: AsyncEngine, max_live: int = MAX_STATES) -> None:
        super().__init__(expiration_seconds=expiration_seconds, engine=engine)
        self.max_live = max_live

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        now = datetime.now(UTC)
        table = self.oauth_states
        state = str(uuid.uuid4())
        async with self.engine.begin() as conn:
            await conn.execute(table.delete().where(table.c.expire_at <= normalize_datetime_for_db(now)))
            live = int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
            if live < self.max_live:
                expire_at = normalize_datetime_for_db(now + timedelta(seconds=self.expiration_seconds))
                await conn.execute(table.insert(), {"state": state, "expire_at": expire_at})
        if live >= self.max_live:
            raise TooManyStates(f"{live} OAuth states live")
        return state

    async def async_consume(self, state: str) -> bool:
        """A live state, deleted as it is used: one statement, so two callbacks racing with the same
        state cannot both have it (slack_sdk's reads, then deletes). Without slack_sdk's warning
        that quotes the state — whatever the browser sent, of any length — when the database fails."""
        if not state or len(state) > MAX_STATE_CHARS:
            return False
        table = self.oauth_states
        now = normalize_datetime_for_db(datetime.now(UTC))
        try:
            async with self.engine.begin() as conn:
                used = await conn.execute(
                    table.delete().where(table.c.state == state, table.c.expire_at > now)
                )
                return bool(used.rowcount)
        except Exception as exc:  # noqa: BLE001 - the database failing: the install fails, quietly
            log.warning("oauth_state_check_failed", error=type(exc).__name__)
            return False


class InstallFlow(AsyncOAuthFlow):
    """Bolt's OAuth flow, with what Bolt's own leaves open closed:

    - a new installation is announced on the change feed, so that every process forgets what it
      knew of that workspace (a cached "not installed", an old token);
    - the install page issues states from a :class:`BoundedStateStore`: 503 when too many are live;
    - Slack's authorize URL carries ``team`` only when it is a team or org id (Bolt pastes the raw
      query value in, unencoded: a crafted link could add ``scope``/``user_scope``/``redirect_uri``),
      and nothing else from the request;
    - a failed code exchange is logged as one rate-limited ``oauth_exchange_failed`` line with
      Slack's error code — never the code itself (Bolt logs it, at WARNING, whatever was sent).
    """

    def __init__(
        self, *, store: WorkspaceStore, client: AsyncWebClient, settings: AsyncOAuthSettings
    ) -> None:
        super().__init__(client=client, settings=settings)
        self._store = store
        self._full = QuietLog("oauth_states_full", every=60.0)
        self._exchange_failed = QuietLog("oauth_exchange_failed", every=10.0)

    async def handle_installation(self, request: AsyncBoltRequest) -> BoltResponse:
        try:
            return await super().handle_installation(request)
        except TooManyStates as exc:
            self._full.warning(error=str(exc))
            return BoltResponse(
                status=503,
                body=BUSY_PAGE,
                headers={
                    "Content-Type": "text/html; charset=utf-8",
                    "Retry-After": str(RETRY_AFTER_SECONDS),
                    "Cache-Control": "no-store",
                },
            )

    async def build_authorize_url(self, state: str, request: AsyncBoltRequest) -> str:
        teams = request.query.get("team") or []
        team = teams[0] if len(teams) == 1 and TEAM_HINT.match(teams[0]) else None
        return str(self.settings.authorize_url_generator.generate(state=state, team=team))

    async def run_installation(self, code: str) -> SlackInstallation | None:
        """Bolt's exchange (``oauth.v2.access``, then ``auth.test`` for the bot id), without Bolt's
        log line that carries the code: a failure is one quiet line with Slack's error code."""
        try:
            return await self._exchange(code)
        except SlackApiError as exc:
            data = getattr(exc.response, "data", None)
            error = data.get("error") if isinstance(data, dict) else None
            self._exchange_failed.warning(error=str(error or "unknown")[:64])
        except Exception as exc:  # noqa: BLE001 - Slack unreachable or slow: the install failed, say so
            self._exchange_failed.warning(error=type(exc).__name__)
        return None

    async def _exchange(self, code: str) -> SlackInstallation:
        """As ``AsyncOAuthFlow.run_installation`` (slack_bolt 1.x) builds the installation."""
        settings = self.settings
        answer = await self.client.oauth_v2_access(
            code=code,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            redirect_uri=settings.redirect_uri,
        )
        enterprise: dict[str, Any] = answer.get("enterprise") or {}
        org_wide = bool(answer.get("is_enterprise_install"))
        team: dict[str, Any] = answer.get("team") or {}
        installer: dict[str, Any] = answer.get("authed_user") or {}
        webhook: dict[str, Any] = answer.get("incoming_webhook") or {}
        bot_token: str | None = answer.get("access_token")
        bot_id: str | None = None
        enterprise_url: str | None = None
        if bot_token is not None:
            identity = await self.client.auth_test(token=bot_token)
            bot_id = identity["bot_id"]
            if org_wide:
                enterprise_url = identity.get("url")
        return SlackInstallation(
            app_id=answer.get("app_id"),
            enterprise_id=enterprise.get("id"),
            enterprise_name=enterprise.get("name"),
            enterprise_url=enterprise_url,
            team_id=team.get("id"),
            team_name=team.get("name"),
            bot_token=bot_token,
            bot_id=bot_id,
            bot_user_id=answer.get("bot_user_id"),
            bot_scopes=answer.get("scope"),  # type: ignore[arg-type] # "a,b" (as Bolt passes it)
            bot_refresh_token=answer.get("refresh_token"),
            bot_token_expires_in=answer.get("expires_in"),
            user_id=installer.get("id"),  # type: ignore[arg-type] # always sent by Slack (as Bolt)
            user_token=installer.get("access_token"),
            user_scopes=installer.get("scope"),  # type: ignore[arg-type] # None: a bot-only install
            user_refresh_token=installer.get("refresh_token"),
            user_token_expires_in=installer.get("expires_in"),
            incoming_webhook_url=webhook.get("url"),
            incoming_webhook_channel=webhook.get("channel"),
            incoming_webhook_channel_id=webhook.get("channel_id"),
            incoming_webhook_configuration_url=webhook.get("configuration_url"),
            is_enterprise_install=org_wide,
            token_type=answer.get("token_type"),
        )

    async def store_installation(self, request: AsyncBoltRequest, installation: SlackInstallation) -> None:
        # Before the INSERT: a driver logging its statements' parameters (aiosqlite at DEBUG) is scrubbed.
        register_secrets([installation.bot_token, installation.bot_refresh_token])
        await super().store_installation(request, installation)
        key = workspace_key(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install
        )
        if key is not None:
            await self._store.announce(
                key, "install", actor=installation.user_id or "slack", summary="installed"
            )
            log.info("installed", workspace=key, org_wide=bool(installation.is_enterprise_install))


@dataclass
class Distribution:
    engine: AsyncEngine
    store: WorkspaceStore
    installations: AsyncSQLAlchemyInstallationStore
    flow: InstallFlow
    tenants: Tenants
    trials: TrialThrottle
    """The Home tab's budget of Connect BIK trials (for ``handlers.admin.AdminHandlers``), in Redis
    when ``REDIS_URL`` is set."""


def build_distribution(
    settings: Settings,
    *,
    http: httpx.AsyncClient,
    bik_base_url: str,
    limiter: RateLimiter | None,
    recent: RecentLookups,
    audit: Audit,
) -> Distribution:
    assert settings.slack_client_id and settings.slack_client_secret
    client_id = settings.slack_client_id
    client_secret = settings.slack_client_secret.get_secret_value()
    register_secrets([client_secret])
    engine = create_engine(settings.database_url)
    store = WorkspaceStore(engine, CredentialBox(settings.credential_keys))
    installations = AsyncSQLAlchemyInstallationStore(client_id=client_id, engine=engine)
    slack = AsyncWebClient(base_url=settings.slack_api_url, timeout=10)
    oauth = AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=settings.scopes,
        redirect_uri=settings.slack_redirect_uri,
        authorization_url=settings.slack_oauth_url,
        installation_store=installations,
        installation_store_bot_only=True,
        state_store=BoundedStateStore(expiration_seconds=STATE_SECONDS, engine=engine),
        state_expiration_seconds=STATE_SECONDS,
    )
    tenants = Tenants(
        store=store,
        installations=installations,
        http=http,
        bik_base_url=bik_base_url,
        bik_timeout=settings.bik_timeout_seconds,
        limiter=limiter,
        recent=recent,
        audit=audit,
        dashboard_url=settings.bik_dashboard_url,
        slack_api_url=settings.slack_api_url,
        rotator=AsyncTokenRotator(client_id=client_id, client_secret=client_secret, client=slack),
    )
    flow = InstallFlow(store=store, client=slack, settings=oauth)
    trials = TrialThrottle(redis_url=settings.redis_url)
    return Distribution(engine, store, installations, flow, tenants, trials)


async def authorize(
    enterprise_id: str | None, team_id: str | None, user_id: str | None
) -> AuthorizeResult | None:
    """Bolt's ``authorize``: the bot token of the tenant resolved for this request, or None (Bolt
    then answers that the app is not installed here)."""
    tenant = Tenants.current_tenant()
    if tenant is None:
        return None
    return AuthorizeResult(
        enterprise_id=tenant.enterprise_id or enterprise_id,
        team_id=tenant.team_id or team_id,
        user_id=user_id,
        bot_token=tenant.bot_token,
        bot_user_id=tenant.bot_user_id,
        bot_id=tenant.bot_id,
    )
