"""Composition root: settings -> one :class:`Bot` (Bolt app, lookup service, shared clients) and the
ASGI app that serves it (``POST /slack/events``, ``GET /healthz``).

This is the only place, with ``__main__``, that knows both the core and the Slack listeners.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import json
import logging
import re
import signal
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import structlog
from httpx_aiohttp import AiohttpTransport
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot import sandbox
from bot.access import HOME_TAB_POLICY, Policy
from bot.audit import Audit
from bot.bik.client import BikClient
from bot.config import Settings, load_settings
from bot.delivery import ResponseUrlPoster
from bot.intake import MAX_BODY_BYTES, QuietLog, Refusal, checked, parse_body, verify_signature
from bot.logs import configure_logging, get_logger, new_ref, register_secrets
from bot.lookup import Directory, LookupService, OpenDirectory, Services
from bot.metrics import METRICS, worker_stopped
from bot.policy_reload import PolicyReloader
from bot.ratelimit import UserRateLimiter
from bot.recent import RecentLookups
from bot.slack_directory import SlackDirectory
from bot.tasks import TaskTracker
from bot.tenants import Tenants, installation_ids
from bot.views import read_metadata
from handlers import actions, commands, events, installs, shortcuts
from handlers import views as modal_views
from handlers.modals import ModalLookups

if TYPE_CHECKING:  # distribution mode's database stack is imported only when it is on (start-up time)
    from bot.distribution import Distribution

log = get_logger("bik.app")

READINESS_GRACE = 2.0
"""After SIGTERM, ``/readyz`` answers 503 this long while requests are still served, so a load balancer
stops routing here before the listening socket closes."""
DRAIN_SECONDS = 22.0  # platforms allow ~30 s from SIGTERM to SIGKILL: 2 s grace + 5 s requests + 22 s
USER_AGENT = "bik-slack/0.1"
DATABASE_DOWN = ":warning: The bot can't reach its database right now. Try again in a minute."
NOT_INSTALLED = (
    ":warning: This app isn't installed in this workspace any more. An admin can install it again "
    "from the app's page in Slack."
)


POOL = httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=60)


def build_http_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The one pooled client per process, for BIK and for response_url posts.

    httpx's API over aiohttp's connection pool: measured on the 2-core machine, 400 concurrent POSTs
    cost httpx's own pool 0.9 s of CPU (3.6 s with the pool raised) and this transport 0.2 s
    (``python -m bench.transport``; bench/README.md). Tests inject their own transport.
    """
    return httpx.AsyncClient(
        transport=transport if transport is not None else AiohttpTransport(limits=POOL),
        timeout=httpx.Timeout(30.0, connect=5.0),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


class BodyBudget:
    """Bytes of request bodies held before their signature could be checked, for the whole process.

    Each body is capped at :data:`MAX_BODY_BYTES`, but a thousand connections each sending almost
    that much, unsigned, would still hold a gigabyte: beyond this budget a request is answered 503
    at once (Slack retries nothing for commands; a real request is a few kB and never waits here)."""

    def __init__(self, limit: int = 32 * 1024 * 1024) -> None:
        self.limit = limit
        self.held = 0

    def take(self, n: int) -> bool:
        if self.held + n > self.limit:
            return False
        self.held += n
        return True

    def give(self, n: int) -> None:
        self.held -= n


@dataclass
class Bot:
    settings: Settings
    bolt: AsyncApp
    service: LookupService
    http: httpx.AsyncClient
    slack: AsyncWebClient
    tasks: TaskTracker
    limiter: UserRateLimiter
    identity: dict[str, Any] = field(default_factory=dict)
    ready: bool = False
    """Serving new requests: true from start-up until shutdown begins (``GET /readyz``)."""
    connected: bool = True
    """Socket Mode: connected to Slack. Always true over HTTP."""
    body_budget: BodyBudget = field(default_factory=lambda: BodyBudget())
    distribution: Distribution | None = None
    """Many workspaces (SPEC 11): the database, the install flow and the per-workspace tenants."""
    _background: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def mode(self) -> str:
        return "socket" if self.settings.socket_mode else "http"

    @property
    def tenants(self) -> Tenants | None:
        return self.distribution.tenants if self.distribution is not None else None

    async def startup(self) -> None:
        if self.distribution is not None:
            await self._start_distribution(self.distribution)
        else:
            self._start_single_workspace()
        self._warn_per_process_state()
        # Everything loaded so far lives as long as the process: keep it out of the collector's
        # full passes, which otherwise paused the loop 100-200 ms under load (bench/README.md).
        gc.collect()
        gc.freeze()
        self.ready = True

    async def _start_distribution(self, dist: Distribution) -> None:
        from bot.db import upgrade

        if self.settings.database_migrate:
            await upgrade(dist.engine)
        await dist.tenants.start()
        self._background.append(asyncio.create_task(dist.tenants.watch(), name="workspace-changes"))
        log.info(
            "started",
            mode=self.mode,
            distribution=True,
            database=dist.engine.dialect.name,
            workspaces=len(await dist.store.listed()),
            rate_limit=self.settings.bik_rate_limit,
            rate_limit_store=self.limiter.backend,
            bik=self.settings.bik_api_base_url if not self.settings.bik_sandbox else "sandbox",
        )
        self._install_signal_handlers(None)

    def _warn_per_process_state(self) -> None:
        if self.settings.web_concurrency > 1 and not self.settings.redis_url:
            log.warning(
                "per_process_state",
                effect="rate limits, replay protection and recent lookups are per worker process",
                fix="set REDIS_URL",
            )

    def _start_single_workspace(self) -> None:
        policy = self.service.policy
        log.info(
            "started",
            mode=self.mode,
            policy=str(policy.path),
            policy_loaded=policy.loaded,
            allowed_channels=policy.allowed_channel_count,
            direct_messages=policy.direct_messages.allow,
            default_allow=policy.defaults.allow,
            rate_limit=self.settings.bik_rate_limit,
            rate_limit_store=self.limiter.backend,
            bik=("sandbox" if self.settings.bik_sandbox else self.service.bik.url),
        )
        if not policy.loaded:
            log.warning("no_access_policy", path=str(policy.path), effect="every channel is denied")
        # Not a tracked task: shutdown cancels it instead of waiting for Slack.
        self._background.append(asyncio.create_task(self.check_slack(), name="auth.test"))
        reloader = PolicyReloader(
            self.service, self.settings.bik_access_policy, interval=self.settings.bik_policy_reload_seconds
        )
        self._background.append(asyncio.create_task(reloader.watch(), name="policy-watch"))
        self._install_signal_handlers(reloader)

    def _install_signal_handlers(self, reloader: PolicyReloader | None) -> None:
        """SIGHUP reloads the policy. SIGTERM first flips readiness (``/readyz`` answers 503 so the
        platform stops routing here), then, :data:`READINESS_GRACE` seconds later, hands over to the
        server's own handler (stop accepting, finish requests, drain lookups). Signals can be set
        only from the main thread: a bot run inside a test's thread skips this."""
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        if reloader is not None:  # distribution mode: policies live in the database, not in a file
            loop.add_signal_handler(signal.SIGHUP, reloader.reload, "sighup")
        handover = signal.getsignal(signal.SIGTERM)
        if not callable(handover):
            return

        def on_term(signum: int, frame: Any) -> None:
            if not self.ready:  # a second SIGTERM: no more grace
                handover(signum, frame)
                return
            self.ready = False
            log.info("shutdown_begins", ready=False, grace_seconds=READINESS_GRACE)
            loop.call_soon_threadsafe(loop.call_later, READINESS_GRACE, handover, signum, None)

        signal.signal(signal.SIGTERM, on_term)

    async def check_slack(self) -> None:
        """Who are we? Asked at start and again with backoff until Slack answers (the installation's
        team decides who is of another organisation); a rejected token is an error the operator
        must see, logged once per attempt."""
        delay = 1.0
        while not await self.ask_slack():
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)

    async def ask_slack(self) -> bool:
        try:
            response = await asyncio.wait_for(self.slack.auth_test(), 5.0)
            self.identity = dict(response.data) if isinstance(response.data, dict) else {}
            installation = self.service.installation
            installation.team_id = self.identity.get("team_id") or None
            installation.enterprise_id = self.identity.get("enterprise_id") or None
            log.info(
                "slack_connected", team=self.identity.get("team_id"), bot_user=self.identity.get("user_id")
            )
            return True
        except Exception as exc:  # noqa: BLE001 - reported in plain words, never fatal
            error = getattr(getattr(exc, "response", None), "data", {}) or {}
            log.error(
                "slack_auth_failed",
                error=error.get("error", type(exc).__name__)
                if isinstance(error, dict)
                else type(exc).__name__,
                hint="check SLACK_BOT_TOKEN (invalid_auth) and SLACK_API_URL",
            )
            return False

    async def shutdown(self, drain_timeout: float = DRAIN_SECONDS) -> None:
        self.ready = False
        for task in self._background:
            task.cancel()
        # Wait for them to finish cancelling: a database query cut mid-way must hand its connection
        # back before the engine is disposed, or the dispose waits for it for ever (a hung SIGTERM).
        try:
            await asyncio.wait_for(asyncio.gather(*self._background, return_exceptions=True), 5.0)
        except TimeoutError:
            log.warning(
                "background_tasks_slow_to_stop",
                tasks=[t.get_name() for t in self._background if not t.done()],
            )
        await self.tasks.drain(drain_timeout)
        await self.http.aclose()
        await self.service.recent.close()
        if self.distribution is not None:
            try:
                await asyncio.wait_for(self.distribution.engine.dispose(), 5.0)
            except TimeoutError:
                log.warning("database_dispose_timeout", effect="connections closed by the exit")
        worker_stopped()
        log.info("stopped")


def build_bot(
    settings: Settings,
    *,
    policy: Policy | None = None,
    bik_transport: httpx.AsyncBaseTransport | None = None,
    directory: Directory | None = None,
    ack_budget: float = 2.0,
    reply_timeout: float = 5.0,
) -> Bot:
    """Wire everything from ``settings``; ``bik_transport``/``directory`` let tests swap the network."""
    if settings.bik_sandbox and bik_transport is None:
        bik_transport = sandbox.transport()
    base_url = sandbox.SANDBOX_BASE_URL if settings.bik_sandbox else settings.bik_api_base_url
    authorization = settings.bik_authorization or SecretStr(sandbox.SANDBOX_TOKEN)
    bot_token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    register_secrets(
        [
            bot_token,
            authorization.get_secret_value(),
            *(
                s.get_secret_value()
                for s in (
                    settings.slack_signing_secret,
                    settings.slack_app_token,
                    settings.bik_api_secret,
                    settings.metrics_token,
                )
                if s
            ),
        ]
    )

    # Bolt's client has no BIK traffic; ours does. Slack calls use the SDK's own aiohttp client.
    http = build_http_client(bik_transport)
    slack = AsyncWebClient(token=bot_token, base_url=settings.slack_api_url, timeout=10)
    tasks = TaskTracker()
    limiter = UserRateLimiter(settings.bik_rate_limit, redis_url=settings.redis_url)
    audit = Audit()
    recent = RecentLookups.create(settings.bik_recent_lookups, settings.redis_url)
    distribution: Distribution | None = None
    services: Services
    if settings.distribution:
        from bot.distribution import build_distribution

        distribution = build_distribution(
            settings, http=http, bik_base_url=base_url, limiter=limiter, recent=recent, audit=audit
        )
        # No workspace's own: replay protection and shutdown only. Listeners use the request's tenant.
        service = LookupService(
            bik=None,
            policy=Policy.deny_all(Path(HOME_TAB_POLICY)),
            directory=OpenDirectory(),
            limiter=limiter,
            audit=audit,
            recent=recent,
        )
        services = Tenants.current
    else:
        service = LookupService(
            bik=BikClient(
                http=http,
                base_url=base_url,
                authorization=authorization,
                timeout=settings.bik_timeout_seconds,
            ),
            policy=policy if policy is not None else Policy.load(settings.bik_access_policy),
            directory=directory or SlackDirectory(slack),
            limiter=limiter,
            dashboard_url=settings.bik_dashboard_url,
            audit=audit,
            recent=recent,
        )

        def services() -> LookupService:
            return service

    poster = ResponseUrlPoster(http, timeout=reply_timeout, allowed_prefixes=settings.response_url_prefixes)

    async def authorize(
        enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult:
        # A single-workspace bot knows its token: no auth.test before the ack (Bolt's default
        # would call it on the first request, a network round trip inside the 3-second deadline).
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            bot_token=bot_token,
            bot_user_id=bot.identity.get("user_id"),
            bot_id=bot.identity.get("bot_id"),
        )

    bolt = AsyncApp(
        # Without a token: ``authorize`` supplies it per request (a token here makes Bolt warn).
        client=AsyncWebClient(base_url=settings.slack_api_url, timeout=10),
        # Bolt's type says AuthorizeResult, but it treats None as "not installed here" (its own stores do).
        authorize=_authorize_distribution if distribution is not None else authorize,  # type: ignore[arg-type]
        user_facing_authorize_error_message=NOT_INSTALLED,
        signing_secret=settings.slack_signing_secret.get_secret_value()
        if settings.slack_signing_secret
        else "",
        # Verified at the boundary (bot.intake), before any parsing, for both transports.
        request_verification_enabled=False,
        logger=logging.getLogger("slack_bolt"),
        name="bik-slack",
        # Await each listener instead of polling every 10 ms for its ack() (Bolt's default): the
        # listeners ack within the 2 s budget by construction and leave slow work to tracked tasks.
        process_before_response=True,
    )
    commands.register(
        bolt, commands.CommandHandler(services=services, poster=poster, tasks=tasks, ack_budget=ack_budget)
    )
    modals = ModalLookups(services=services, poster=poster, tasks=tasks)
    id_pattern = re.compile(settings.bik_id_pattern) if settings.bik_id_pattern else None
    shortcuts.register(
        bolt,
        shortcuts.ShortcutHandlers(
            modals=modals, dashboard_url=settings.bik_dashboard_url, id_pattern=id_pattern
        ),
    )
    modal_views.register(bolt, modal_views.ViewHandlers(modals=modals))
    home = events.EventHandlers(
        services=services, tasks=tasks, dashboard_url=settings.bik_dashboard_url, modals=modals
    )
    events.register(bolt, home)
    if distribution is not None:
        from handlers import admin

        installs.register(bolt, installs.InstallHandlers(tenants=distribution.tenants))
        admin.register(
            bolt,
            admin.AdminHandlers(
                tenants=distribution.tenants,
                home=home,
                http=http,
                bik_base_url=base_url,
                bik_timeout=settings.bik_timeout_seconds,
                tasks=tasks,
                trials=distribution.trials,
            ),
        )
    clicks = actions.ActionHandlers(
        services=services, poster=poster, tasks=tasks, dashboard_url=settings.bik_dashboard_url, modals=modals
    )
    actions.register(bolt, clicks)
    actions.register_fallbacks(bolt, clicks)

    @bolt.error
    async def on_error(error: Exception) -> None:
        log.error("listener_error", exc_info=error)

    bot = Bot(
        settings=settings,
        bolt=bolt,
        service=service,
        http=http,
        slack=slack,
        tasks=tasks,
        limiter=limiter,
        distribution=distribution,
    )
    return bot


async def _authorize_distribution(
    enterprise_id: str | None, team_id: str | None, user_id: str | None
) -> AuthorizeResult | None:
    from bot.distribution import authorize

    return await authorize(enterprise_id, team_id, user_id)


async def dispatch(
    bolt: AsyncApp,
    body: dict[str, Any],
    headers: dict[str, Any],
    context: dict[str, Any],
    tenants: Tenants | None = None,
) -> BoltResponse:
    """Hand a request that crossed :mod:`bot.intake` to Bolt: verified, parsed, well-shaped.

    Both transports come through here. Bolt calls a pre-parsed body "socket_mode"; over HTTP the
    signature was already verified at the boundary (``request_verification_enabled=False``). In
    distribution mode the request's workspace is resolved first, from the installation the request
    names (:func:`bot.tenants.installation_ids`), and every listener works in that workspace."""
    if tenants is not None:
        enterprise_id, team_id, org_wide = installation_ids(body)
        try:
            tenant = await tenants.get(enterprise_id, team_id, org_wide)
        except Exception as exc:  # noqa: BLE001 - the database is down: say so, never a bare 500
            log.error("database_unavailable", error=type(exc).__name__, workspace=team_id or enterprise_id)
            return _ephemeral(body, DATABASE_DOWN)
        Tenants.enter(tenant)
        if tenant is not None and _foreign_card(body, tenant.bot_id):
            # In a channel shared by two workspaces that both installed the app, Slack sends a click on
            # A's card with the clicker's workspace B: B's installation must not re-run or rewrite it.
            log.warning("foreign_card_click", workspace=tenant.key, action=ack_kind(body))
            return BoltResponse(status=200, body="")
        bound = bound_workspace(body)
        if bound is not None and (tenant is None or bound != tenant.key):
            # A view this bot opened for one workspace, sent back for another: never served.
            log.warning(
                "cross_workspace_view", workspace=tenant.key if tenant else None, view_workspace=bound
            )
            return BoltResponse(status=200, body="")
        if tenant is None and "command" in body and "type" not in body:
            # Bolt would answer a command it cannot authorize with an empty 200 (it has a
            # response_url): say why instead, to the one person who asked.
            log.warning("not_installed", team=team_id, enterprise=enterprise_id, org_wide=org_wide)
            return _ephemeral(body, NOT_INSTALLED)
    return await bolt.async_dispatch(
        AsyncBoltRequest(body=body, headers=headers, context=context, mode="socket_mode")
    )


class SocketModeIntake(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler with the same boundary as HTTP: every envelope's payload is checked
    (:func:`bot.intake.checked`) before Bolt sees it, and every envelope is acknowledged — a refused
    one with an empty ack (Slack would retry or show an error otherwise), never with its body logged."""

    def __init__(self, bot: Bot, app_token: str) -> None:
        super().__init__(bot.bolt, app_token=app_token, web_client=bot.bolt.client)
        self._bot = bot

    async def handle(self, client: Any, req: SocketModeRequest) -> None:
        received_at = time.monotonic()
        response: BoltResponse | None = None
        structlog.contextvars.bind_contextvars(ref=new_ref())  # this envelope's own task
        try:
            body = checked(req.payload)
            if await self._bot.service.first_time("envelope:" + str(req.envelope_id)):
                response = await dispatch(self._bot.bolt, body, {}, {"received_at": received_at})
                METRICS.ack(ack_kind(body), time.monotonic() - received_at)
            else:  # the same envelope again: acknowledged again, handled once
                log.warning("request_replayed", transport="socket", kind=ack_kind(body))
        except Refusal as refusal:
            log.warning("malformed_request", problem=refusal.reason, transport="socket")
        except Exception:
            log.exception("dispatch_failed", transport="socket")
        if response is not None and response.status == 200:
            await send_async_response(client, req, response, received_at)
        else:
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))


async def read_bounded(request: Request, budget: BodyBudget, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, read as it streams and refused (413) the moment it passes ``limit``: a declared
    ``Content-Length`` is not trusted alone, and a chunked upload has none. Every byte held counts
    against ``budget`` until the caller gives it back."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise Refusal(413, "body too large")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refusal(413, "body too large")
            if not budget.take(len(chunk)):
                raise Refusal(503, "too many unverified bodies in flight")
            chunks.append(chunk)
    except BaseException as exc:
        budget.give(sum(map(len, chunks)))
        if isinstance(exc, ClientDisconnect):
            # The client left mid-body (or the connection layer cut a slow one): nobody to answer,
            # and nothing worth a traceback per connection under a flood.
            raise Refusal(400, "client disconnected") from None
        raise
    return b"".join(chunks)


def build_asgi(bot: Bot) -> Starlette:
    secret = bot.settings.slack_signing_secret
    verifier_secret = secret.get_secret_value() if secret else None
    bad_signatures = QuietLog("bad_signature")  # clock drift or a rotated secret: once per 10 s, counted
    malformed = QuietLog("malformed_request")
    replays = QuietLog("request_replayed")
    budget = bot.body_budget

    async def slack_events(request: Request) -> Response:
        received_at = time.monotonic()
        body = b""
        try:
            body = await read_bounded(request, budget)
            if verifier_secret is None:  # never serve Slack's endpoint unauthenticated
                raise Refusal(401, "no signing secret configured")
            verify_signature(
                verifier_secret,
                body,
                request.headers.get("x-slack-request-timestamp"),
                request.headers.get("x-slack-signature"),
            )
            parsed = parse_body(body, request.headers.get("content-type"))
        except Refusal as refusal:
            budget.give(len(body))
            if refusal.status == 401:
                bad_signatures.warning(reason=refusal.reason, length=len(body))
                return PlainTextResponse("invalid request signature", status_code=401)
            malformed.warning(problem=refusal.reason)
            return PlainTextResponse(
                {413: "payload too large", 503: "busy"}.get(refusal.status, "malformed request"),
                status_code=refusal.status,
            )
        budget.give(len(body))  # verified: no longer an unsigned body held for a stranger
        structlog.contextvars.bind_contextvars(ref=new_ref())  # this request's own task
        if not await bot.service.first_time("request:" + request.headers.get("x-slack-signature", "")):
            # The same signed request again (a replay within Slack's 5 minutes): answered once.
            replays.warning(kind=ack_kind(parsed))
            return Response(status_code=200)
        if parsed.get("type") == "app_rate_limited":
            log.warning("slack_rate_limited_events", minute=parsed.get("minute_rate_limited"))
            return Response(status_code=200)
        headers = {k: v for k, v in request.headers.items() if k.startswith("x-slack-")}
        headers["content-type"] = request.headers.get("content-type", "")
        response = await dispatch(bot.bolt, parsed, headers, {"received_at": received_at}, bot.tenants)
        METRICS.ack(ack_kind(parsed), time.monotonic() - received_at)
        return to_starlette_response(response)

    routes = [Route("/slack/events", slack_events, methods=["POST"]), *health_routes(bot)]
    if bot.distribution is not None:
        routes += install_routes(bot.distribution)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await bot.startup()
        try:
            yield
        finally:
            await bot.shutdown()

    return Starlette(routes=routes, lifespan=lifespan)


def _ephemeral(body: dict[str, Any], text: str) -> BoltResponse:
    """A slash command's answer to its asker alone; an event is refused with 503, so that Slack sends
    it again (an uninstall must not be lost to a database hiccup); any other request is acknowledged."""
    if body.get("type") == "event_callback":
        return BoltResponse(status=503, body="")
    if "command" in body and "type" not in body:
        message = {"response_type": "ephemeral", "text": text}
        return BoltResponse(
            status=200, body=json.dumps(message), headers={"content-type": "application/json"}
        )
    return BoltResponse(status=200, body="")


def _foreign_card(body: dict[str, Any], bot_id: str | None) -> bool:
    """A click on a message another installation's bot posted (``message.bot_id`` is not ours)."""
    if body.get("type") != "block_actions" or not bot_id:
        return False
    container, message = body.get("container"), body.get("message")
    if not isinstance(container, dict) or container.get("type") != "message" or not isinstance(message, dict):
        return False
    posted_by = message.get("bot_id")
    return isinstance(posted_by, str) and bool(posted_by) and posted_by != bot_id


def bound_workspace(body: dict[str, Any]) -> str | None:
    """The workspace a view's ``private_metadata`` was written for (``w``: see
    :func:`handlers.payload.metadata`), or None."""
    view = body.get("view")
    if not isinstance(view, dict):
        return None
    return read_metadata(view.get("private_metadata")).get("w")


def install_routes(dist: Distribution) -> list[Route]:
    """Slack's OAuth v2 install flow (SPEC 11): ``GET /slack/install`` sets the state cookie and
    sends the browser to Slack; ``GET /slack/oauth_redirect`` checks the state, exchanges the code
    (``oauth.v2.access``) and stores the installation."""
    flow = dist.flow

    async def install(request: Request) -> Response:
        return to_starlette_response(await flow.handle_installation(to_async_bolt_request(request, b"")))

    async def redirect(request: Request) -> Response:
        return to_starlette_response(await flow.handle_callback(to_async_bolt_request(request, b"")))

    return [
        Route(flow.install_path, install, methods=["GET"]),
        Route(flow.redirect_uri_path, redirect, methods=["GET"]),
    ]


def health_routes(bot: Bot) -> list[Route]:
    """``/healthz`` (liveness), ``/readyz`` (readiness) and ``/metrics``: served beside
    ``/slack/events`` over HTTP, and alone on ``PORT`` in Socket Mode."""
    token = bot.settings.metrics_token.get_secret_value() if bot.settings.metrics_token else None

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "mode": bot.mode, "in_flight": bot.tasks.in_flight})

    async def readyz(_: Request) -> Response:
        ready = bot.ready and bot.connected
        body: dict[str, Any] = {"ready": ready, "connected": bot.connected}
        if bot.distribution is None:
            body |= {"policy_loaded": bot.service.policy.loaded, "policy_version": bot.service.policy.version}
        else:
            body |= {"mode": "distribution", "policy_version": "per workspace"}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        if token is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return PlainTextResponse(
                    "metrics need Authorization: Bearer <METRICS_TOKEN>",
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        body, content_type = METRICS.exposition()
        return Response(body, media_type=content_type)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


def ack_kind(body: dict[str, Any]) -> str:
    """The ``kind`` label of ``slack_ack_duration_seconds``: command, action, shortcut, view, event."""
    kind = body.get("type")
    if "command" in body and kind is None:
        return "command"
    if kind in ("block_actions", "interactive_message"):
        return "action"
    if kind in ("shortcut", "message_action"):
        return "shortcut"
    if kind in ("view_submission", "view_closed"):
        return "view"
    return "event"


def create_asgi_app() -> Starlette:
    """uvicorn's factory (``bot.app:create_asgi_app``): one per worker process."""
    settings = load_settings()
    configure_logging(settings.log_level)
    settings.require_for_serving()
    return build_asgi(build_bot(settings))
