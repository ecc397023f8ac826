"""Wiring of distribution mode (SPEC 11): the database, Slack's OAuth install flow and stores, and
the per-workspace :class:`~bot.tenants.Tenants`. Built by :func:`bot.app.build_bot` when
``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` are set and ``SLACK_BOT_TOKEN`` is not.

Bolt's own authorization is replaced by :func:`authorize`, which answers from the tenant the app
resolved before Bolt ran: no ``auth.test`` per request (Bolt's installation-store authorize calls it
for every uncached request, inside Slack's 3-second deadline), and no path by which a deleted token
could come back from a cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.oauth.installation_store import Installation as SlackInstallation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit import Audit
from bot.config import Settings
from bot.credentials import CredentialBox
from bot.db import create_engine
from bot.logs import get_logger, register_secrets
from bot.lookup import RateLimiter
from bot.recent import RecentLookups
from bot.tenants import Tenants, workspace_key
from bot.workspaces import WorkspaceStore

log = get_logger("bik.install")
STATE_SECONDS = 600


class InstallFlow(AsyncOAuthFlow):
    """Bolt's OAuth flow; a new installation is announced on the change feed, so that every process
    forgets what it knew of that workspace (a cached "not installed", an old token)."""

    def __init__(
        self, *, store: WorkspaceStore, client: AsyncWebClient, settings: AsyncOAuthSettings
    ) -> None:
        super().__init__(client=client, settings=settings)
        self._store = store

    async def store_installation(self, request: AsyncBoltRequest, installation: SlackInstallation) -> None:
        await super().store_installation(request, installation)
        key = workspace_key(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install
        )
        if key is not None:
            register_secrets([installation.bot_token, installation.bot_refresh_token])
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
        state_store=AsyncSQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=engine),
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
    return Distribution(engine, store, installations, flow, tenants)


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


def installation_ids(body: dict[str, Any]) -> tuple[str | None, str | None, bool]:
    """Which installation a verified request is for, read as Bolt reads it (``authorizations[0]`` for
    events, ``view.app_installed_team_id`` for modals, else ``team``/``enterprise``)."""
    from slack_bolt.request.internals import (
        extract_enterprise_id,
        extract_is_enterprise_install,
        extract_team_id,
    )

    return extract_enterprise_id(body), extract_team_id(body), bool(extract_is_enterprise_install(body))
