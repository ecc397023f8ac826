"""Distribution mode's command line as an operator uses it (SPEC 11): ``python -m bot workspace …``,
``policy import|export`` and ``db …`` against a real database (a SQLite file; PostgreSQL too when
POSTGRES_TEST_URL is set) and the local BIK stand-in.

The journey where the process boundary matters (a secret piped to standard input, the exit status,
nothing else reaching the terminal, a clean exit) runs ``python -m bot`` as a real process; the others
call the same ``main()`` in this process: the same code, without an interpreter start-up per command
(seconds each, where no bytecode is cached).
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import structlog
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore

from bot.__main__ import main
from bot.connect import TRIAL_ID
from bot.credentials import CredentialBox, CredentialsUnreadable
from bot.db import create_engine, upgrade
from bot.workspaces import WorkspaceStore
from tests.fakes import bik as b
from tests.fakes.bik import FakeBik
from tests.fakes.databases import sqlite_url
from tests.fakes.process import free_port

ROOT = Path(__file__).resolve().parents[2]
KEY1 = CredentialBox.new_key()
KEY2 = CredentialBox.new_key()
TOKEN = "bik-token-7Qx2Lm9Pz4Rt"
API_KEY, API_SECRET = "bik-key-K3y9Wn2v", "bik-secret-S3cr3tVa1ue"
AUTHORIZATION = base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()
SECRETS = (TOKEN, API_KEY, API_SECRET, AUTHORIZATION)
POLICY = '[defaults]\nallow = false\n\n[channels.C0SUPPORT1]\nallow = true\nmask = ["phone"]\n'


# -- the database ----------------------------------------------------------------------------------
# ``database_url`` (tests/fakes/databases.py) is an empty database on SQLite and on PostgreSQL: the
# tests where the database matters use both; the others a SQLite file.


def on_store(url: str, work: Callable[[WorkspaceStore], Any], *, keys: tuple[str, ...] = (KEY1,)) -> Any:
    """Look at (or prepare) the database the way the server does, with these credential keys."""

    async def run() -> Any:
        engine = create_engine(url)
        try:
            await upgrade(engine)  # as the server does at start-up
            return await work(WorkspaceStore(engine, CredentialBox(list(keys))))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def install(url: str, team_id: str, team_name: str) -> None:
    """An installation as Slack's OAuth flow stores it (slack_sdk's own store)."""

    async def work(store: WorkspaceStore) -> None:
        installations = AsyncSQLAlchemyInstallationStore(client_id="111.222", engine=store.engine)
        await installations.async_save(
            Installation(
                app_id="A0BIK",
                team_id=team_id,
                team_name=team_name,
                bot_token="xoxb-111-222-installed",
                bot_id="B0BIK",
                bot_user_id="U0BIK",
                bot_scopes="commands,users:read",
                user_id="U0ADMIN",
                installed_at=time.time(),
            )
        )

    on_store(url, work)


def stored_text(url: str) -> str:
    """Everything our tables hold, as text: to prove no credential is stored in plain text."""
    if url.startswith("sqlite"):
        path = Path(url.split(":///", 1)[1])
        files = [path, *path.parent.glob(path.name + "-*")]  # the -wal/-journal files too
        return "".join(f.read_bytes().decode("latin-1") for f in files)

    async def work(store: WorkspaceStore) -> str:
        import sqlalchemy as sa

        async with store.engine.connect() as conn:
            parts = [
                str(row[0])
                for table in ("bik_connections", "workspace_changes", "policies")
                for row in (await conn.execute(sa.text(f"SELECT t::text FROM {table} t"))).all()  # noqa: S608
            ]
        return "\n".join(parts)

    return str(on_store(url, work))


# -- running the command line ----------------------------------------------------------------------


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


def configuration(database: str, bik: FakeBik) -> dict[str, str]:
    return {
        "DATABASE_URL": database,
        "BIK_CREDENTIALS_KEYS": KEY1,
        "BIK_API_BASE_URL": bik.base_url,
        "BIK_TIMEOUT_SECONDS": "3",
    }


@pytest.fixture
def env(database_url: str, bik: FakeBik) -> dict[str, str]:
    """The configuration of a deployment on each database (an empty one: the CLI migrates it)."""
    return configuration(database_url, bik)


@pytest.fixture
def sqlite_env(tmp_path: Path, bik: FakeBik) -> dict[str, str]:
    """The same on a SQLite file only, for what does not depend on the database."""
    return configuration(sqlite_url(tmp_path / "bik-slack.db"), bik)


def run(*args: str, env: dict[str, str], stdin: str = "", cwd: Path | None = None) -> Ran:
    """``python -m bot ARGS`` as a real process, with only the given configuration."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BIK_", "REDIS_URL", "DATABASE_"))
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        cwd=cwd or ROOT,
        check=False,
    )
    return Ran(result.returncode, result.stdout, result.stderr)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[..., Ran]]:
    """``main(ARGS)`` in this process, with ``env`` as the environment (the conftest scrubbed the rest)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, structlog.get_config())

    def call(*args: str, env: dict[str, str], stdin: str = "") -> Ran:
        for name in ("DATABASE_URL", "DATABASE_MIGRATE"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors and --help
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    yield call
    root.handlers[:], level, config = saved
    root.setLevel(level)
    structlog.configure(**config)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


# -- connect ---------------------------------------------------------------------------------------


def test_connect_tries_the_credentials_then_saves_them_and_list_shows_only_the_hint(sqlite_env, bik, cli):
    install(sqlite_env["DATABASE_URL"], "T0ACME", "Acme Store")
    connected = run(
        "workspace",
        "connect",
        "--team",
        "T0ACME",
        "--key",
        API_KEY,
        "--secret",
        "-",
        env=sqlite_env,
        stdin=API_SECRET + "\n",
    )
    assert connected.code == 0, connected.err
    assert connected.err == ""  # a clean exit: no warning, no log line, no traceback from a thread
    assert "T0ACME: BIK connected" in connected.out and "API key ending Wn2v" in connected.out
    [trial] = bik.requests
    assert trial.key == TRIAL_ID
    assert trial.headers["Authorization"] == f"Basic {AUTHORIZATION}"

    listed = cli("workspace", "list", env=sqlite_env)
    assert listed.code == 0, listed.err
    row = next(line for line in listed.out.splitlines() if line.startswith("T0ACME"))
    assert "Acme Store" in row and "connected (…Wn2v)" in row and "none" in row
    assert_no_secret(connected.both, listed.both, stored_text(sqlite_env["DATABASE_URL"]))

    history = on_store(sqlite_env["DATABASE_URL"], lambda store: store.history("T0ACME"))
    assert [(c.kind, c.actor) for c in history] == [("bik", "cli")]


def test_refused_credentials_are_not_saved_and_bik_reason_is_shown(sqlite_env, bik, cli):
    said = f"token {TOKEN} was revoked by the store owner"  # BIK echoing the token back
    bik.script(TRIAL_ID, b.status(401, {"status": 401, "errors": [{"message": said}]}))
    refused = cli("workspace", "connect", "--team", "T0ACME", "--token", TOKEN, env=sqlite_env)
    assert refused.code == 1
    [line] = refused.err.splitlines()
    assert line.startswith("error: T0ACME: not saved: BIK refused these credentials (HTTP 401): “")
    assert "[redacted] was revoked by the store owner" in refused.err
    assert refused.out == ""
    assert_no_secret(refused.both)
    assert on_store(sqlite_env["DATABASE_URL"], lambda store: store.connection("T0ACME")) is None
    assert TOKEN not in stored_text(sqlite_env["DATABASE_URL"])


@pytest.mark.parametrize("failure", ["down", "5xx", "hang"])
def test_when_bik_cannot_be_asked_nothing_is_saved(sqlite_env, bik, cli, failure):
    config = sqlite_env
    if failure == "down":
        config = {**sqlite_env, "BIK_API_BASE_URL": f"http://127.0.0.1:{free_port()}/integrations"}
        expected = "BIK is unavailable right now (no connection). Try again in a minute."
    elif failure == "5xx":
        bik.script(TRIAL_ID, *[b.status(503)] * 3)
        expected = "BIK is unavailable right now (HTTP 503). Try again in a minute."
    else:
        bik.script(TRIAL_ID, b.hang(10))
        config = {**sqlite_env, "BIK_TIMEOUT_SECONDS": "0.5"}
        expected = "BIK did not answer within 0.5 s. Try again in a minute."
    result = cli("workspace", "connect", "--team", "T0ACME", "--token", TOKEN, env=config)
    assert result.code == 1
    assert result.err.strip() == f"error: T0ACME: not saved: {expected}"
    assert_no_secret(result.both)
    assert on_store(config["DATABASE_URL"], lambda store: store.connection("T0ACME")) is None


def test_a_token_from_standard_input_and_a_new_one_replacing_it(env, bik, cli):
    first = cli("workspace", "connect", "--team", "T0ACME", "--token", "-", env=env, stdin=TOKEN + "\n")
    assert first.code == 0, first.err
    assert "token ending 4Rt" not in first.out and "token ending z4Rt" in first.out
    again = cli("workspace", "connect", "--team", "T0ACME", "--key", API_KEY, "--secret", API_SECRET, env=env)
    assert again.code == 0, again.err
    credentials = on_store(env["DATABASE_URL"], lambda store: store.bik_credentials("T0ACME"))
    assert credentials.key.get_secret_value() == API_KEY and credentials.token is None
    assert_no_secret(first.both, again.both, stored_text(env["DATABASE_URL"]))


def test_disconnect_deletes_the_credentials(env, bik, cli):
    assert cli("workspace", "connect", "--team", "T0ACME", "--token", TOKEN, env=env).code == 0
    gone = cli("workspace", "disconnect", "--team", "T0ACME", env=env)
    assert gone.code == 0 and "T0ACME: BIK disconnected" in gone.out
    assert on_store(env["DATABASE_URL"], lambda store: store.connection("T0ACME")) is None
    again = cli("workspace", "disconnect", "--team", "T0ACME", env=env)
    assert again.code == 1 and "T0ACME has no BIK connection; nothing changed" in again.err
    listed = cli("workspace", "list", env=env)
    assert "T0ACME" not in listed.out and "no workspaces" in listed.out


def test_list_shows_workspaces_not_installed_yet(env, bik, cli):
    install(env["DATABASE_URL"], "T0ACME", "Acme Store")
    assert cli("workspace", "connect", "--team", "T0LATER", "--token", TOKEN, env=env).code == 0
    listed = cli("workspace", "list", env=env)
    lines = listed.out.splitlines()
    assert lines[0].split() == ["WORKSPACE", "NAME", "BIK", "POLICY"]
    assert re.match(r"T0ACME +Acme Store +not connected +none$", lines[1])
    assert re.match(r"T0LATER +\(not installed\) +connected \(…z4Rt\) +none$", lines[2])


# -- keys ------------------------------------------------------------------------------------------


def test_rekey_moves_every_credential_to_the_new_first_key(env, bik, cli):
    assert cli("workspace", "connect", "--team", "T0ACME", "--token", TOKEN, env=env).code == 0
    assert (
        cli(
            "workspace", "connect", "--team", "T0BETA", "--key", API_KEY, "--secret", API_SECRET, env=env
        ).code
        == 0
    )

    rotated = cli("workspace", "rekey", env={**env, "BIK_CREDENTIALS_KEYS": f"{KEY2},{KEY1}"})
    assert rotated.code == 0, rotated.err
    assert "re-encrypted 2 BIK credential(s)" in rotated.out

    only_new = {**env, "BIK_CREDENTIALS_KEYS": KEY2}
    listed = cli("workspace", "list", env=only_new)
    assert listed.code == 0 and "UNREADABLE" not in listed.out and listed.out.count("connected (…") == 2
    opened = on_store(env["DATABASE_URL"], lambda store: store.bik_credentials("T0ACME"), keys=(KEY2,))
    assert opened.token.get_secret_value() == TOKEN

    # The old key alone no longer opens them: list says so and fails; rekey changes nothing.
    old_only = cli("workspace", "list", env=env)
    assert old_only.code == 1 and old_only.out.count("UNREADABLE") == 2
    refused = cli("workspace", "rekey", env=env)
    assert refused.code == 1 and "nothing changed" in refused.err
    with pytest.raises(CredentialsUnreadable):
        on_store(env["DATABASE_URL"], lambda store: store.bik_credentials("T0ACME"), keys=(KEY1,))
    assert_no_secret(rotated.both, listed.both, old_only.both, refused.both)


def test_newkey_prints_a_usable_key_without_any_configuration(cli):
    made = cli("workspace", "newkey", env={})
    assert made.code == 0
    key = made.out.strip()
    CredentialBox([key])  # a Fernet key, else ConfigError
    assert key != cli("workspace", "newkey", env={}).out.strip()


# -- policy ----------------------------------------------------------------------------------------


def test_policy_import_then_export_gives_the_same_document(env, cli, tmp_path):
    path = tmp_path / "acme.toml"
    path.write_text(POLICY)
    imported = cli("policy", "import", "--team", "T0ACME", str(path), env=env)
    assert imported.code == 0, imported.err
    version = re.search(r"T0ACME: policy saved \(version (\w+)\), imported from ", imported.out)
    assert version is not None
    exported = cli("policy", "export", "--team", "T0ACME", env=env)
    assert exported.code == 0 and exported.out == POLICY
    [change] = on_store(env["DATABASE_URL"], lambda store: store.history("T0ACME"))
    assert (change.kind, change.actor, change.version) == ("policy", "cli", version.group(1))
    assert change.summary == f"imported from {path}"
    listed = cli("workspace", "list", env=env)
    assert re.search(rf"T0ACME +\(not installed\) +not connected +{version.group(1)}$", listed.out, re.M)


def test_an_invalid_policy_is_refused_naming_the_key_and_nothing_is_saved(env, cli, tmp_path):
    (tmp_path / "good.toml").write_text(POLICY)
    assert cli("policy", "import", "--team", "T0ACME", str(tmp_path / "good.toml"), env=env).code == 0
    bad = POLICY.replace('mask = ["phone"]', 'mask = ["shoe_size"]')
    refused = cli("policy", "import", "--team", "T0ACME", "-", env=env, stdin=bad)
    assert refused.code == 2 and refused.out == ""
    [line] = refused.err.splitlines()
    assert line.startswith("error: access policy of workspace T0ACME:") and "channels.C0SUPPORT1.mask" in line
    stored = on_store(env["DATABASE_URL"], lambda store: store.policy("T0ACME"))
    assert stored.document == POLICY  # the previous policy stays


def test_export_of_a_workspace_without_a_policy_says_so(sqlite_env, cli):
    result = cli("policy", "export", "--team", "T0NONE", env=sqlite_env)
    assert result.code == 1 and result.out == ""
    assert "T0NONE has no stored policy" in result.err and "policy import --team T0NONE" in result.err


# -- the database and configuration ----------------------------------------------------------------


def test_db_upgrade_creates_the_schema_and_current_reports_it(env, cli):
    before = cli("db", "current", env=env)
    assert before.code == 0 and "revision none" in before.out
    upgraded = cli("db", "upgrade", env=env)
    assert upgraded.code == 0 and re.search(r"at revision \w+$", upgraded.out.strip())
    revision = upgraded.out.split()[-1]
    assert cli("db", "upgrade", env=env).out.split()[-1] == revision  # safe to repeat
    assert cli("db", "current", env=env).out.split()[-1] == revision


def test_without_automatic_migrations_an_empty_database_is_refused(sqlite_env, cli):
    result = cli("workspace", "list", env={**sqlite_env, "DATABASE_MIGRATE": "false"})
    assert result.code == 2 and "run `python -m bot db upgrade` first" in result.err


def test_configuration_errors_are_one_line_and_exit_status_2(sqlite_env, cli):
    missing = {k: v for k, v in sqlite_env.items() if k != "BIK_CREDENTIALS_KEYS"}
    result = cli("workspace", "connect", "--team", "T0ACME", "--token", TOKEN, env=missing)
    assert result.code == 2
    assert (
        result.err
        == "error: configuration: missing BIK_CREDENTIALS_KEYS; set it in the environment or .env\n"
    )
    assert_no_secret(result.both)


@pytest.mark.parametrize(
    ("args", "overrides", "says"),
    [
        (
            ("workspace", "list"),
            {"BIK_CREDENTIALS_KEYS": "not-a-fernet-key"},
            "each key must be a Fernet key",
        ),
        (("workspace", "list"), {"DATABASE_URL": "mysql://db/bik"}, "DATABASE_URL must start with"),
        (
            ("db", "upgrade"),
            {"DATABASE_URL": "postgresql+asyncpg://u:pw@db:port/bik"},
            "not a valid database URL",
        ),
        (
            ("db", "upgrade"),
            {"DATABASE_URL": "sqlite+aiosqlite:////no/such/dir/bik.db"},
            "no directory /no/such/dir",
        ),
        (
            ("workspace", "disconnect", "--team", "acme"),
            {},
            "'acme' is not a workspace id (T…) or an org id (E…)",
        ),
        (("workspace", "connect", "--team", "T0ACME", "--key", API_KEY), {}, "error: --key needs --secret"),
        (("policy", "import", "--team", "T0ACME", "/no/such/file.toml"), {}, "cannot be read: No such file"),
    ],
)
def test_usage_and_configuration_mistakes_exit_2(sqlite_env, cli, args, overrides, says):
    result = cli(*args, env={**sqlite_env, **overrides})
    assert result.code == 2 and says in result.err
    assert_no_secret(result.both)


def test_an_unreachable_database_is_one_line_without_its_password(cli):
    url = f"postgresql+asyncpg://bik:pa55w0rd-xyz@127.0.0.1:{free_port()}/bik"
    result = cli("workspace", "list", env={"DATABASE_URL": url, "BIK_CREDENTIALS_KEYS": KEY1})
    assert result.code == 2
    [line] = result.err.splitlines()
    assert line.startswith("error: database postgresql+asyncpg://bik:***@127.0.0.1:")
    assert "pa55w0rd-xyz" not in result.both


def test_help_describes_the_distribution_commands(cli):
    top = cli("--help", env={})
    assert top.code == 0
    for word in ("db", "workspace", "policy"):
        assert re.search(rf"^\s+{word}\s+\S", top.out, re.M), word
    workspace = cli("workspace", "--help", env={})
    for word in ("connect", "list", "disconnect", "rekey", "newkey"):
        assert re.search(rf"^\s+{word}\s+\S", workspace.out, re.M), word
    policy = cli("policy", "--help", env={})
    for word in ("check", "import", "export"):
        assert re.search(rf"^\s+{word}\s+\S", policy.out, re.M), word


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_policy_export_to_a_terminal_shows_control_characters_instead_of_obeying_them(
    sqlite_env, cli, tmp_path, monkeypatch
):
    hostile = (
        "# owner: \u202eevil\u202c \u2066x\u2069\n[defaults]\nallow = false\n"  # TOML refuses ESC itself
    )
    path = tmp_path / "hostile.toml"
    path.write_text(hostile)
    assert cli("policy", "import", "--team", "T0ACME", str(path), env=sqlite_env).code == 0
    piped = cli("policy", "export", "--team", "T0ACME", env=sqlite_env)
    assert piped.out == hostile  # to a file: byte for byte, so that import reads it back
    screen = _Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    assert main(["policy", "export", "--team", "T0ACME"]) == 0
    shown = screen.getvalue()
    assert "\u202e" not in shown and "\u2066" not in shown and "[defaults]" in shown
