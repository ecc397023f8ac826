"""Databases for distribution mode's tests (SPEC 11): a fresh one per test, on SQLite and on a real
PostgreSQL. A pytest plugin (``pytest_plugins`` in ``tests/conftest.py``), so every test can ask for:

- ``database_url``: an empty database (no tables), once per backend: ``test_x[sqlite]`` and
  ``test_x[postgres]``; a ``DATABASE_URL`` the bot accepts (``sqlite+aiosqlite:///…``,
  ``postgresql+asyncpg://…``).
- ``migrated_database_url``: the same, with the schema already at head: a copy of a database migrated
  once per session, cheaper than migrating each test's (about 0.1 s per database here).
- ``postgres_url``: the server's own database (``POSTGRES_TEST_URL``), for a test that needs the server.

PostgreSQL is the server ``.ci/run`` starts (``POSTGRES_TEST_URL``, a user that may create databases).
Without it the ``[postgres]`` half skips, except when ``REQUIRE_POSTGRES`` is set (CI): then it fails.
Each database is dropped after its test, even one whose test left connections open. SQLAlchemy,
asyncpg and the migrations are imported on first use: a run without databases does not pay for them.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import shutil
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

BACKENDS = ("sqlite", "postgres")


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run to completion on a loop of its own (never the test's, and never set as the current loop)."""
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        runner.run(coroutine)


async def _migrate(url: str) -> None:
    from bot.db import create_engine, upgrade

    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


class PostgresServer:
    """Creates and drops databases on the test server; names are unique to this run.

    CREATE DATABASE copies a template (40 ms on an idle machine, several times that on a busy one), so
    a thread of its own, with one connection, keeps the next database of each kind ready while the
    current test runs and drops the used ones in the background.
    """

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.url: URL = make_url(url)
        self._names = (f"bik_t{os.getpid()}_{secrets.token_hex(3)}_{n}" for n in itertools.count())
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-databases")
        self._loop = asyncio.new_event_loop()  # the worker's, with one connection for the whole run
        self._admin: Any = None
        self._version = 0
        self._ready: dict[str | None, Future[str]] = {}
        self._template: str | None = None

    def url_of(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    def take(self, *, migrated: bool) -> str:
        """A fresh database, empty or at head; returns its name. Hand it back with :meth:`give_back`."""
        template = self.migrated_template() if migrated else None
        ready = self._ready.pop(template, None) or self._worker.submit(self._create, template)
        self._ready[template] = self._worker.submit(self._create, template)
        return ready.result()

    def give_back(self, name: str) -> None:
        self._worker.submit(self._drop, name)

    def migrated_template(self) -> str:
        """A database at the head revision, made on first use, that tests get copies of."""
        if self._template is None:
            name = self._worker.submit(self._create, None).result()
            _run(_migrate(self.url_of(name)))
            self._template = name
        return self._template

    def close(self) -> None:
        for ready in self._ready.values():
            self.give_back(ready.result())
        if self._template is not None:
            self.give_back(self._template)
        self._worker.submit(self._disconnect)
        self._worker.shutdown(wait=True)

    # -- on the worker thread only --------------------------------------------------------------

    def _create(self, template: str | None) -> str:
        self._connect()
        name = next(self._names)
        sql = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
        # PostgreSQL 15+ copies the template page by page through the WAL by default; copying the files
        # is cheaper for databases this small (and durability is off on the test server anyway).
        self._execute(sql + (" STRATEGY FILE_COPY" if self._version >= 15 else ""))
        return name

    def _drop(self, name: str) -> None:
        # FORCE: a test that left a connection open does not keep its database alive.
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _execute(self, sql: str) -> None:
        self._connect()
        self._loop.run_until_complete(self._admin.execute(sql))

    def _connect(self) -> None:
        if self._admin is None:
            import asyncpg  # type: ignore[import-untyped]

            dsn = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._admin = self._loop.run_until_complete(asyncpg.connect(dsn))
            self._version = self._admin.get_server_version().major

    def _disconnect(self) -> None:
        if self._admin is not None:
            self._loop.run_until_complete(self._admin.close())
        self._loop.close()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL that CI started (``POSTGRES_TEST_URL``); skips without one, fails in CI."""
    given = os.environ.get("POSTGRES_TEST_URL")
    if not given:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("REQUIRE_POSTGRES is set but POSTGRES_TEST_URL is not")
        pytest.skip("no PostgreSQL: set POSTGRES_TEST_URL (.ci/run starts one)")
    return given


@pytest.fixture(scope="session")
def postgres_server(postgres_url: str) -> Iterator[PostgresServer]:
    server = PostgresServer(postgres_url)
    yield server
    server.close()


@pytest.fixture(scope="session")
def _sqlite_migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "migrated.db"
    _run(_migrate(sqlite_url(path)))
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for this test, on each backend."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "bik-slack.db")
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.take(migrated=False)
    yield server.url_of(name)
    server.give_back(name)


@pytest.fixture(params=BACKENDS)
def migrated_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database for this test with the schema at head, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "bik-slack.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_migrated"), path)
        yield sqlite_url(path)
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.take(migrated=True)
    yield server.url_of(name)
    server.give_back(name)
