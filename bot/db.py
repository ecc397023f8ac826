"""The database of distribution mode (SPEC 11): one async engine, our tables, and the migrations.

``DATABASE_URL`` is ``sqlite+aiosqlite:///file.db`` (embedded, one host) or
``postgresql+asyncpg://…`` (several processes or hosts). Slack's installation and OAuth-state tables
belong to ``slack_sdk``'s stores; the migrations create them too, so that Alembic owns the whole
schema. Our tables, keyed by *workspace* — the ``T…`` id of a workspace install, or the ``E…`` id of an
org-wide (Enterprise Grid) install:

- ``bik_connections``: the sealed BIK credentials (:mod:`bot.credentials`) and their last 4 characters;
- ``policies``: the workspace's access policy as the section 5 TOML, and its version;
- ``workspace_changes``: every change (policy edits, BIK connected or disconnected, uninstalls, token
  rotations), who made it and its version. It is the audit trail of policy changes and, read by id,
  the feed through which every process learns within a second that a workspace changed.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

metadata = sa.MetaData()

bik_connections = sa.Table(
    "bik_connections",
    metadata,
    sa.Column("workspace", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),  # token | key
    sa.Column("sealed", sa.Text, nullable=False),
    sa.Column("hint", sa.String(8), nullable=False),
    sa.Column("connected_by", sa.String(64), nullable=False),
    sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
)

policies = sa.Table(
    "policies",
    metadata,
    sa.Column("workspace", sa.String(32), primary_key=True),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("version", sa.String(16), nullable=False),
    sa.Column("updated_by", sa.String(64), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

workspace_changes = sa.Table(
    "workspace_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(32), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),  # policy | bik | uninstall | tokens | install
    sa.Column("actor", sa.String(64), nullable=False),  # a user id, or "cli", or "slack"
    sa.Column("summary", sa.String(500), nullable=False),
    sa.Column("version", sa.String(16)),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sqlite_autoincrement=True,  # ids never reused, even after an uninstall deletes the newest rows
)

MIGRATIONS = Path(__file__).with_name("migrations")
ADVISORY_LOCK = 0x42494B  # "BIK": one migrating process at a time on PostgreSQL


def create_engine(url: str) -> AsyncEngine:
    """One engine per process. SQLite waits up to 15 s for another process's write."""
    if url.startswith("sqlite"):
        return create_async_engine(url, connect_args={"timeout": 15})
    return create_async_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800)


def _alembic_config(connection: Connection) -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK})
    elif connection.dialect.name == "sqlite":
        # The write lock before reading the current revision: a second process waits, then finds the
        # schema up to date (without it, two workers starting on a fresh file both create the tables).
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    command.upgrade(_alembic_config(connection), revision)  # type: ignore[arg-type]


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest migration shipped with this code."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent; concurrent callers on PostgreSQL take turns)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(_current)
