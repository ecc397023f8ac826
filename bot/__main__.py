"""Command line: ``python -m bot serve | preview | policy check | doctor``, and for distribution mode
``db upgrade | db current``, ``workspace connect | list | disconnect | rekey | newkey`` and
``policy import | export``. See ``--help``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.access import Policy, PolicyError
from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging, get_logger

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Coroutine

    import uvicorn

    from bot.app import Bot, SocketModeIntake
    from bot.workspaces import WorkspaceStore


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
        epilog="Configuration comes from the environment and .env (every command reads the same as the "
        "server); see README.md. `python -m bot COMMAND --help` describes each command.",
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

    policy = sub.add_parser(
        "policy",
        help="access policy tools: check a file; import or export a workspace's (distribution mode)",
    )
    policy_sub = policy.add_subparsers(title="policy commands", metavar="COMMAND")
    check = policy_sub.add_parser("check", help="validate a policy file and print what each channel allows")
    check.add_argument("file", nargs="?", type=Path, help="default: $BIK_ACCESS_POLICY or access.toml")
    check.set_defaults(run=_policy_check)
    imported = policy_sub.add_parser(
        "import",
        help="distribution mode: store a workspace's policy from a TOML file in the access.toml format",
        description="Validates FILE exactly like the policy file, then stores it as the workspace's policy "
        "(in DATABASE_URL, versioned, recorded as changed by 'cli'); every process serving the workspace "
        "applies it within about a second. Exit status 0 only when it was saved; 2 (and nothing saved) "
        "when it is invalid, naming the key.",
    )
    _team_argument(imported)
    imported.add_argument(
        "file", metavar="FILE", help="a policy file in the access.toml format; '-' reads stdin"
    )
    imported.set_defaults(run=_policy_import)
    exported = policy_sub.add_parser(
        "export",
        help="distribution mode: print a workspace's stored policy as TOML",
        description="Prints the workspace's stored policy as TOML in the access.toml format (ready for "
        "`policy import`). Exit status 1 when the workspace has none (it then denies everywhere).",
    )
    _team_argument(exported)
    exported.set_defaults(run=_policy_export)

    doctor = sub.add_parser("doctor", help="check configuration, Slack and BIK, and say what is wrong")
    doctor.add_argument("--probe", help="a customer query to look up at BIK (default: an auth check)")
    doctor.set_defaults(run=_doctor)

    db = sub.add_parser(
        "db",
        help="distribution mode: the database's schema (migrations)",
        description="The database of distribution mode, DATABASE_URL (sqlite+aiosqlite:///FILE or "
        "postgresql+asyncpg://…). The server migrates it at start-up unless DATABASE_MIGRATE=false.",
    )
    db_sub = db.add_subparsers(title="db commands", metavar="COMMAND")
    db_sub.add_parser(
        "upgrade", help="bring the schema up to date and print its revision (safe to repeat)"
    ).set_defaults(run=_db_upgrade)
    db_sub.add_parser("current", help="print the schema's revision, changing nothing").set_defaults(
        run=_db_current
    )

    workspace = sub.add_parser(
        "workspace",
        help="distribution mode: connect workspaces to BIK, list them, rotate the credential keys",
        description="Workspaces served in distribution mode (SLACK_CLIENT_ID), kept in DATABASE_URL; "
        "their BIK credentials are sealed with BIK_CREDENTIALS_KEYS. A workspace is its T… id, or the "
        "E… id of an org-wide (Enterprise Grid) install. The schema is migrated first when needed.",
    )
    ws_sub = workspace.add_subparsers(title="workspace commands", metavar="COMMAND")
    connect = ws_sub.add_parser(
        "connect",
        help="try BIK credentials with one lookup and store them for a workspace when BIK accepts them",
        description="Looks up an id that cannot exist at BIK_API_BASE_URL with the credentials: 'not "
        "found' means BIK accepted them, and only then are they stored (encrypted). Exit status 0 only "
        "when they were saved; 1 when BIK refused them (with BIK's reason) or could not be asked. "
        "The credentials are never printed; only the token's or key's last 4 characters. To keep a "
        "value out of the shell's history, give it as '-': it is read from standard input (without "
        'echo at a terminal), e.g. `printf %s "$TOKEN" | python -m bot workspace connect --team T0123 '
        "--token -`.",
    )
    _team_argument(connect)
    how = connect.add_mutually_exclusive_group(required=True)
    how.add_argument("--token", help="BIK API token (as sent after 'Basic '); '-' reads it from stdin")
    how.add_argument("--key", help="BIK API key, with --secret; '-' reads it from stdin")
    connect.add_argument("--secret", help="BIK API secret, with --key; '-' reads it from stdin")
    connect.add_argument(
        "--sandbox", action="store_true", help="try them against the bundled sandbox, not BIK (development)"
    )
    connect.set_defaults(run=_workspace_connect)
    ws_sub.add_parser(
        "list",
        help="list workspaces: id, name, BIK connected (key's last 4) or not, policy version; no secrets",
        description="One line per workspace: installed ones first, then any connected to BIK or given a "
        "policy before the app was installed. Each stored credential is opened with BIK_CREDENTIALS_KEYS; "
        "one that no key opens is shown as UNREADABLE and the exit status is 1.",
    ).set_defaults(run=_workspace_list)
    disconnect = ws_sub.add_parser(
        "disconnect",
        help="delete a workspace's BIK credentials (its lookups then ask an admin to connect BIK)",
        description="Deletes the workspace's stored BIK credentials. Exit status 1 when it had none.",
    )
    _team_argument(disconnect)
    disconnect.set_defaults(run=_workspace_disconnect)
    ws_sub.add_parser(
        "rekey",
        help="re-encrypt every stored credential with the first key of BIK_CREDENTIALS_KEYS",
        description="Key rotation: make a key (`workspace newkey`), put it first in BIK_CREDENTIALS_KEYS "
        "and keep the old keys after it, everywhere the bot runs; then run this. Afterwards the old keys "
        "can be removed. Exit status 1 (and nothing changed) when a credential opens with none of the keys.",
    ).set_defaults(run=_workspace_rekey)
    ws_sub.add_parser(
        "newkey",
        help="print a fresh key for BIK_CREDENTIALS_KEYS (needs no configuration)",
        description="Prints a new Fernet key. Keep it secret: it decrypts every BIK credential it seals.",
    ).set_defaults(run=_workspace_newkey)
    return parser


def _team(value: str) -> str:
    from bot.workspaces import UnknownWorkspace, check_key

    try:
        return check_key(value)
    except UnknownWorkspace as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _team_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--team",
        required=True,
        type=_team,
        metavar="T…",
        help="the workspace id (T…), or the org id (E…) of an org-wide install",
    )


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


# -- distribution mode: db, workspace, policy import/export --------------------------------------


def _database_settings() -> Settings:
    """The server's settings, checked for what the database commands need. Log lines are JSON at
    WARNING (no library chatter; nothing raw reaches the terminal)."""
    settings = load_settings()
    configure_logging("WARNING", json_lines=True)
    settings.require_database()  # the URL parses, a SQLite file's directory exists, keys are set
    return settings


def _shown_url(url: str) -> str:
    """DATABASE_URL as it may be printed: without its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # a malformed URL (a port that is not a number)
        return url.split("://", 1)[0] + "://…"


@contextlib.asynccontextmanager
async def _store(settings: Settings) -> AsyncIterator[WorkspaceStore]:
    """The workspace store over DATABASE_URL, migrated first (unless DATABASE_MIGRATE=false, when a
    database without a schema is refused); the engine is closed on the way out."""
    from bot.credentials import CredentialBox
    from bot.db import create_engine, current_revision, upgrade
    from bot.workspaces import WorkspaceStore

    box = CredentialBox(settings.credential_keys)  # a bad key fails before the database is touched
    engine = create_engine(settings.database_url)
    try:
        if settings.database_migrate:
            await upgrade(engine)
        elif await current_revision(engine) is None:
            raise ConfigError(
                f"database {_shown_url(settings.database_url)} has no schema yet and DATABASE_MIGRATE is "
                "false: run `python -m bot db upgrade` first"
            )
        yield WorkspaceStore(engine, box)
    finally:
        await engine.dispose()


def _with_database(settings: Settings, work: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run ``work``; a database that cannot be reached or used is one line and exit status 2."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return asyncio.run(work())
    except (SQLAlchemyError, OSError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        # SQLAlchemy's messages start with the driver's exception name in brackets already.
        what = first if first.startswith("(") else f"{type(exc).__name__}: {first}"
        print(f"error: database {_shown_url(settings.database_url)}: {_safe(what)[:300]}", file=sys.stderr)
        return 2


def _safe(text: str) -> str:
    from bot.preview import terminal_safe

    return terminal_safe(text)


def _db_upgrade(args: argparse.Namespace) -> int:
    from bot.db import create_engine, current_revision, upgrade

    settings = _database_settings()

    async def work() -> int:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
            revision = await current_revision(engine)
        finally:
            await engine.dispose()
        print(f"database {_shown_url(settings.database_url)}: at revision {revision}")
        return 0

    return _with_database(settings, work)


def _db_current(args: argparse.Namespace) -> int:
    from bot.db import create_engine, current_revision

    settings = _database_settings()

    async def work() -> int:
        engine = create_engine(settings.database_url)
        try:
            revision = await current_revision(engine)
        finally:
            await engine.dispose()
        shown = revision or "none (no schema yet: `python -m bot db upgrade` creates it)"
        print(f"database {_shown_url(settings.database_url)}: revision {shown}")
        return 0

    return _with_database(settings, work)


def _workspace_connect(args: argparse.Namespace) -> int:
    from pydantic import SecretStr

    from bot.credentials import BikCredentials

    if args.key is not None and args.secret is None:
        return _usage("--key needs --secret")
    if args.token is not None and args.secret is not None:
        return _usage("give --token, or --key with --secret, not both")
    settings = _database_settings()  # configuration first: no prompt for a secret that goes nowhere
    given = {
        name: getattr(args, name) for name in ("token", "key", "secret") if getattr(args, name) is not None
    }
    values = {name: _read_value(name) if value == "-" else value for name, value in given.items()}
    try:
        credentials = BikCredentials(**{name: SecretStr(value) for name, value in values.items()})
    except ValueError as exc:
        return _usage(f"BIK credentials: {exc}")
    sandbox = args.sandbox or settings.bik_sandbox

    async def work() -> int:
        import httpx

        from bot import sandbox as bundled
        from bot.connect import connect

        transport = bundled.transport() if sandbox else None
        base_url = bundled.SANDBOX_BASE_URL if sandbox else settings.bik_api_base_url
        async with (
            _store(settings) as store,
            httpx.AsyncClient(transport=transport, follow_redirects=False) as http,
        ):
            result = await connect(
                store, http, base_url, args.team, credentials, "cli", settings.bik_timeout_seconds
            )
        if not result.saved:
            print(f"error: {args.team}: not saved: {_safe(result.reason)}", file=sys.stderr)
            return 1
        where = " (the bundled sandbox answered, not BIK)" if sandbox else f" at {base_url}"
        print(f"{args.team}: BIK connected{where}. {_safe(result.reason)}")
        return 0

    return _with_database(settings, work)


def _read_value(name: str) -> str:
    """A credential given as '-': one line of standard input, or a prompt without echo at a terminal."""
    if sys.stdin.isatty():
        import getpass

        value = getpass.getpass(f"BIK API {name}: ")
    else:
        value = sys.stdin.readline()
    return value.strip()


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _workspace_list(args: argparse.Namespace) -> int:
    from bot.credentials import CredentialsUnreadable

    settings = _database_settings()

    async def work() -> int:
        rows: list[tuple[str, str, str, str]] = []
        unreadable = 0
        async with _store(settings) as store:
            for listed in await store.listed():
                bik = "not connected"
                if listed.bik_connected:
                    try:
                        await store.bik_credentials(listed.workspace)
                        bik = f"connected (…{listed.hint})" if listed.hint else "connected"
                    except CredentialsUnreadable:
                        bik = "UNREADABLE (no key in BIK_CREDENTIALS_KEYS opens it)"
                        unreadable += 1
                name = _safe(listed.name) if listed.installed else "(not installed)"
                rows.append((listed.workspace, name or "-", bik, listed.policy_version or "none"))
        if not rows:
            print("no workspaces: none installed, connected to BIK or given a policy")
            return 0
        header = ("WORKSPACE", "NAME", "BIK", "POLICY")
        widths = [max(len(r[i]) for r in (header, *rows)) for i in range(3)]
        for row in (header, *rows):
            print("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[3]]))
        return 1 if unreadable else 0

    return _with_database(settings, work)


def _workspace_disconnect(args: argparse.Namespace) -> int:
    settings = _database_settings()

    async def work() -> int:
        async with _store(settings) as store:
            removed = await store.disconnect_bik(args.team, actor="cli")
        if not removed:
            print(f"error: {args.team} has no BIK connection; nothing changed", file=sys.stderr)
            return 1
        print(f"{args.team}: BIK disconnected (its credentials are deleted)")
        return 0

    return _with_database(settings, work)


def _workspace_rekey(args: argparse.Namespace) -> int:
    from bot.credentials import CredentialsUnreadable

    settings = _database_settings()

    async def work() -> int:
        try:
            async with _store(settings) as store:
                count = await store.rekey()
        except CredentialsUnreadable as exc:
            print(f"error: {exc}; nothing changed (is an old key missing from the list?)", file=sys.stderr)
            return 1
        print(f"re-encrypted {count} BIK credential(s) with the first key of BIK_CREDENTIALS_KEYS")
        return 0

    return _with_database(settings, work)


def _workspace_newkey(args: argparse.Namespace) -> int:
    from bot.credentials import CredentialBox

    print(CredentialBox.new_key())
    return 0


def _policy_import(args: argparse.Namespace) -> int:
    settings = _database_settings()
    name = "standard input" if args.file == "-" else args.file
    try:
        document = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        return _usage(f"{_safe(name)}: cannot be read: {exc.strerror}")
    except UnicodeDecodeError:
        return _usage(f"{_safe(name)}: is not UTF-8 text")

    async def work() -> int:
        async with _store(settings) as store:
            policy = await store.save_policy(
                args.team, document, actor="cli", summary=f"imported from {name}"
            )
        print(f"{args.team}: policy saved (version {policy.version}), imported from {_safe(name)}")
        return 0

    return _with_database(settings, work)


def _policy_export(args: argparse.Namespace) -> int:
    settings = _database_settings()

    async def work() -> int:
        async with _store(settings) as store:
            stored = await store.policy(args.team)
        if stored is None:
            print(
                f"error: {args.team} has no stored policy (so every channel is denied there); store one with "
                f"`python -m bot policy import --team {args.team} FILE`",
                file=sys.stderr,
            )
            return 1
        document = stored.document if stored.document.endswith("\n") else stored.document + "\n"
        if sys.stdout.isatty():  # to a terminal: an admin's bidi or control characters shown, not obeyed
            from bot.preview import terminal_safe

            document = "\n".join(terminal_safe(line) for line in document.split("\n"))
        sys.stdout.write(document)  # to a file or a pipe: byte for byte, so that import reads it back
        return 0

    return _with_database(settings, work)


if __name__ == "__main__":
    sys.exit(main())
