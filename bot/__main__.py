"""Command line: ``python -m bot serve | preview | policy check | doctor``. See ``--help``."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.access import Policy, PolicyError
from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging, get_logger

if TYPE_CHECKING:
    import uvicorn

    from bot.app import Bot, SocketModeIntake


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        result: int = args.run(args)
        return result
    except (ConfigError, PolicyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="BIK customer lookup for Slack: /bik-customer <id>.",
        epilog="Configuration comes from the environment and .env; see README.md.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run the bot (HTTP on $PORT; Socket Mode when SLACK_APP_TOKEN is set)",
        description="Serve POST /slack/events (commands, buttons, shortcuts, modals, events), GET /healthz, "
        "/readyz and /metrics on 0.0.0.0:$PORT with $WEB_CONCURRENCY worker processes, or connect over "
        "Socket Mode when SLACK_APP_TOKEN is set (with PORT set, /healthz, /readyz and /metrics too). "
        "SIGHUP reloads the access policy in every worker.",
    )
    serve.add_argument("--sandbox", action="store_true", help="answer from the bundled sandbox, not BIK")
    serve.set_defaults(run=_serve)

    preview = sub.add_parser(
        "preview",
        help="run a lookup and print the reply in the terminal, with a Block Kit Builder link",
        description="Runs the real lookup pipeline (parsing, access, BIK, masking, rendering) and prints "
        "the reply readably, with a link that opens the same message in Slack's Block Kit Builder. "
        "Masking: with --channel, that channel's rule in the policy file ($BIK_ACCESS_POLICY or "
        "access.toml) decides access and masking, as in Slack. Without --channel access is not checked "
        "and every field that any rule of the policy file masks is masked (nothing when there is no "
        "policy file), so neither the terminal nor the link shows a field the policy masks; to see a "
        "channel's unmasked view, preview as that channel. Characters in the reply that could drive "
        "the terminal (control characters, escape sequences, bidi overrides) are printed as visible "
        "escapes such as \\x1b.",
    )
    preview.add_argument("query", nargs="+", help="what you would type after /bik-customer")
    preview.add_argument("--sandbox", action="store_true", help="use the bundled sandbox customers")
    preview.add_argument("--channel", help="preview as this channel id, under the access policy")
    preview.add_argument("--shared", action="store_true", help="treat the channel as a Slack Connect channel")
    preview.add_argument("--user", default="UPREVIEW", help="the asking user id (default UPREVIEW)")
    preview.add_argument("--json", action="store_true", help="print the message JSON instead")
    preview.set_defaults(run=_preview)

    policy = sub.add_parser("policy", help="access policy tools")
    policy_sub = policy.add_subparsers(title="policy commands", metavar="COMMAND")
    check = policy_sub.add_parser("check", help="validate a policy file and print what each channel allows")
    check.add_argument("file", nargs="?", type=Path, help="default: $BIK_ACCESS_POLICY or access.toml")
    check.set_defaults(run=_policy_check)

    doctor = sub.add_parser("doctor", help="check configuration, Slack and BIK, and say what is wrong")
    doctor.add_argument("--probe", help="a customer query to look up at BIK (default: an auth check)")
    doctor.set_defaults(run=_doctor)
    return parser


# -- serve -----------------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    if args.sandbox:
        os.environ["BIK_SANDBOX"] = "true"  # worker processes read settings from the environment
    settings = load_settings()
    configure_logging(settings.log_level)
    settings.require_for_serving()
    Policy.load(settings.bik_access_policy)  # fail now, with the file and key, not in a worker
    _metrics_dir()
    if settings.socket_mode:
        asyncio.run(_socket_mode(settings))
        return 0
    import uvicorn

    from bot import server

    limits = server.limits()  # the internal knobs, checked here: a bad one is one line, not a dead worker
    nofile_before, nofile = server.raise_fd_limit()  # inherited by uvicorn's worker processes
    get_logger("bik.server").info(
        "connection_limits",
        header_timeout=limits.header_timeout,
        body_timeout=limits.body_timeout,
        max_connections=server.connection_cap(limits.max_connections),
        nofile=nofile,
        nofile_before=nofile_before,
    )
    # uvicorn handles SIGTERM itself (stop accepting, finish requests, lifespan shutdown drains the
    # lookups in flight), then restores this handler and re-raises the signal: exit 0, not -15.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    config = uvicorn.Config(
        "bot.app:create_asgi_app",
        factory=True,
        host="0.0.0.0",  # noqa: S104 - a platform's router connects from outside the container
        port=settings.port,
        workers=settings.web_concurrency,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=5,  # requests are answered within 2 s; then 22 s to drain lookups
        timeout_keep_alive=65,
        # Header/body deadlines and a connection cap. A string: each worker imports it when it loads
        # the app, after it answers uvicorn's health pings (a class would be unpickled before).
        http="bot.server:BoundedHttpToolsProtocol",
        ws="none",  # the app serves no WebSocket; an upgrade request is answered as plain HTTP
        # limit_concurrency stays unset: it counts half-open connections and would 503 real requests
    )
    if config.workers > 1:
        # uvicorn.run's own supervisor, except that SIGHUP reaches every worker (a policy reload)
        # instead of restarting them all.
        server.ReloadingMultiprocess(config, sockets=[config.bind_socket()]).run()
        return 0
    single = uvicorn.Server(config)
    single.run()
    return 0 if single.started else 3


def _metrics_dir() -> None:
    """Before any worker starts, and before anything imports prometheus_client: the directory where
    every worker keeps its metric values, so one scrape sums them (``bot.metrics``). An operator's own
    ``PROMETHEUS_MULTIPROC_DIR`` is emptied (a previous run's values would be summed in); otherwise a
    fresh temporary one is made and removed at exit."""
    import atexit
    import shutil
    import tempfile

    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        return
    made = tempfile.mkdtemp(prefix="bik-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    atexit.register(shutil.rmtree, made, True)


async def _socket_mode(settings: Settings) -> None:
    """Socket Mode: the same app over a WebSocket; with ``PORT`` set, a small HTTP server beside it
    answers ``/healthz``, ``/readyz`` (connected to Slack) and ``/metrics`` for the platform."""
    from bot.app import SocketModeIntake, build_bot

    bot = build_bot(settings)
    assert settings.slack_app_token is not None
    handler = SocketModeIntake(bot, settings.slack_app_token.get_secret_value())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    health = _health_server(bot, settings) if "port" in settings.model_fields_set else None
    await bot.startup()
    bot.connected = False
    await handler.connect_async()  # type: ignore[no-untyped-call]
    watch = asyncio.create_task(_watch_connection(bot, handler), name="socket-watch")
    serving = asyncio.create_task(health.serve(), name="health") if health is not None else None
    try:
        await stop.wait()
    finally:
        bot.ready = False  # /readyz says 503 from the moment shutdown begins
        watch.cancel()
        await handler.close_async()  # type: ignore[no-untyped-call]
        await bot.shutdown()
        if health is not None and serving is not None:
            health.should_exit = True
            await serving


async def _watch_connection(bot: Bot, handler: SocketModeIntake) -> None:
    """Readiness in Socket Mode is being connected to Slack: checked every second."""
    while True:
        try:
            bot.connected = bool(await handler.client.is_connected())
        except Exception:  # noqa: BLE001 - a failed probe counts as not connected
            bot.connected = False
        await asyncio.sleep(1.0)


def _health_server(bot: Bot, settings: Settings) -> uvicorn.Server:
    import contextlib
    from collections.abc import Iterator

    import uvicorn
    from starlette.applications import Starlette

    from bot.app import health_routes

    class HealthServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # the bot's own handlers stop it (``should_exit``), not uvicorn's

    config = uvicorn.Config(
        Starlette(routes=health_routes(bot)),
        host="0.0.0.0",  # noqa: S104 - the platform's health checks come from outside the container
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    return HealthServer(config)


# -- preview ---------------------------------------------------------------------------------------


def _preview(args: argparse.Namespace) -> int:
    from bot.preview import builder_link, json_text, render_terminal, terminal_safe

    overrides: dict[str, object] = {"bik_sandbox": True} if args.sandbox else {}
    settings = load_settings(**overrides)
    # JSON log lines: escaped, so nothing from BIK reaches the terminal through a warning either.
    configure_logging("WARNING", json_lines=True)
    settings.require_bik()
    message, masking = asyncio.run(_preview_message(settings, args))
    if args.json:
        print(json_text(message))
        return 0
    print(render_terminal(message, bold=sys.stdout.isatty()))
    if masking is not None:
        print(terminal_safe(masking))
    print("Open it in Slack's Block Kit Builder:")
    print(builder_link(message))
    return 0


async def _preview_message(
    settings: Settings, args: argparse.Namespace
) -> tuple[dict[str, object], str | None]:
    """The reply, and (for a lookup) a line saying what was masked and why."""
    from bot.app import build_bot
    from bot.lookup import Asker, Immediate, OpenDirectory
    from bot.preview import strictest_mask

    class PreviewDirectory(OpenDirectory):
        async def channel_is_shared(self, channel_id: str) -> bool:
            return bool(args.shared)

    path = settings.bik_access_policy
    policy = Policy.load(path)  # a missing file: every channel denied, nothing masked
    if not policy.loaded:
        why = f"no policy file at {path}"
    elif args.channel:
        shared = ", in a Slack Connect channel" if args.shared else ""
        why = f"the rule for {args.channel} in {path}{shared}"
    else:
        why = f"every field that a rule in {path} masks; --channel previews one channel's rule"
    if args.channel:
        channel = args.channel
    else:
        policy = Policy.from_mapping(
            {"defaults": {"allow": True, "mask": sorted(strictest_mask(policy))}},
            path=Path("(preview: every channel allowed, masking what the policy masks anywhere)"),
        )
        channel = "CPREVIEW"
    bot = build_bot(settings, policy=policy, directory=PreviewDirectory())
    asker = Asker(team_id="TPREVIEW", channel_id=channel, user_id=args.user)
    try:
        started = await bot.service.start(asker, " ".join(args.query))
        if isinstance(started, Immediate):
            return started.message, None
        masked = ", ".join(sorted(started.view.masked)) or "nothing"
        return await bot.service.complete(started), f"Masked: {masked} ({why})."
    finally:
        await bot.http.aclose()


# -- policy check ----------------------------------------------------------------------------------


def _policy_check(args: argparse.Namespace) -> int:
    from bot.policy_report import report

    path = args.file or load_settings().bik_access_policy
    if not path.exists():
        print(f"error: access policy {path}: no such file (every channel would be denied)", file=sys.stderr)
        return 2
    print(report(Policy.load(path)))
    return 0


# -- doctor ----------------------------------------------------------------------------------------


def _doctor(args: argparse.Namespace) -> int:
    from bot.doctor import run_doctor

    return asyncio.run(run_doctor(probe=args.probe))


if __name__ == "__main__":
    sys.exit(main())
