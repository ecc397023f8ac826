"""What distribution mode keeps per workspace (SPEC 11): BIK credentials, the access policy, and the
history of changes — plain Python over :mod:`bot.db`, shared by the server, the Home tab and the CLI.

A *workspace* key is the ``T…`` id of a workspace install, or the ``E…`` id of an org-wide install.
Every write appends a row to ``workspace_changes`` in the same transaction: that is the audit trail
(who changed what, which version), and the feed other processes poll (:meth:`changes_since`).
Nothing here returns a credential in plain text except :meth:`bik_credentials`, for the BIK client.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.access import Policy
from bot.credentials import BikCredentials, CredentialBox
from bot.db import bik_connections, policies, workspace_changes

WORKSPACE_KEY = re.compile(r"^[TE][A-Z0-9]{2,30}$")
SLACK_TABLES = ("slack_installations", "slack_bots")
CHANGES_LOCK = 0x42494B43  # "BIKC": one writer of our tables at a time on PostgreSQL
_slack_bots = sa.table(  # slack_sdk's table (its store's columns): only what the install check reads
    "slack_bots",
    sa.column("team_id", sa.String),
    sa.column("enterprise_id", sa.String),
    sa.column("is_enterprise_install", sa.Boolean),
    sa.column("bot_token", sa.String),
)


class UnknownWorkspace(ValueError):
    """Not a ``T…``/``E…`` id."""


class NotInstalled(Exception):
    """A write that needs the app installed in the workspace (the Home tab's) found it uninstalled:
    its tokens are gone, so an uninstall happened meanwhile. Nothing was written."""


class PolicyChanged(Exception):
    """:meth:`WorkspaceStore.save_policy` was told which version it replaces, and the stored policy
    is another one now (saved meanwhile by someone else). Nothing was written."""


def check_key(workspace: str) -> str:
    if not WORKSPACE_KEY.match(workspace):
        raise UnknownWorkspace(f"{workspace!r} is not a workspace id (T…) or an org id (E…)")
    return workspace


@dataclass(frozen=True, slots=True)
class Connection:
    """A BIK connection as it may be shown: how, by whom, when, and the last 4 characters."""

    kind: str
    hint: str
    connected_by: str
    connected_at: datetime


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    document: str
    version: str
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    workspace: str
    kind: str
    actor: str
    summary: str
    version: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Listed:
    workspace: str
    name: str
    bik_connected: bool
    hint: str
    policy_version: str | None
    installed: bool = True


def _now() -> datetime:
    return datetime.now(UTC)


class WorkspaceStore:
    def __init__(self, engine: AsyncEngine, box: CredentialBox) -> None:
        self.engine = engine
        self.box = box

    # -- BIK ------------------------------------------------------------------------------------

    async def bik_credentials(self, workspace: str) -> BikCredentials | None:
        async with self.engine.connect() as conn:
            sealed = await conn.scalar(
                sa.select(bik_connections.c.sealed).where(bik_connections.c.workspace == workspace)
            )
        return self.box.open(sealed) if sealed is not None else None

    async def connection(self, workspace: str) -> Connection | None:
        c = bik_connections.c
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(c.kind, c.hint, c.connected_by, c.connected_at).where(c.workspace == workspace)
                )
            ).first()
        return Connection(row.kind, row.hint, row.connected_by, _aware(row.connected_at)) if row else None

    async def connect_bik(
        self, workspace: str, credentials: BikCredentials, *, actor: str, require_installed: bool = False
    ) -> None:
        """Store ``credentials`` for ``workspace``, replacing any. ``require_installed`` (the Home tab):
        only while the app is installed there, checked inside the write (raises :class:`NotInstalled`),
        so a trial that outlives an uninstall saves nothing; the CLI may connect before installing."""
        check_key(workspace)
        values = {
            "kind": credentials.kind,
            "sealed": self.box.seal(credentials),
            "hint": credentials.hint,
            "connected_by": actor,
            "connected_at": _now(),
        }
        async with self._writing() as conn:
            if require_installed and not await _installed(conn, workspace):
                raise NotInstalled(workspace)
            await conn.execute(sa.delete(bik_connections).where(bik_connections.c.workspace == workspace))
            await conn.execute(sa.insert(bik_connections).values(workspace=workspace, **values))
            summary = f"BIK connected ({credentials.kind} ending {credentials.hint or '…'})"
            await self._changed(conn, workspace, "bik", actor, summary)

    async def disconnect_bik(self, workspace: str, *, actor: str) -> bool:
        check_key(workspace)
        async with self._writing() as conn:
            result = await conn.execute(
                sa.delete(bik_connections).where(bik_connections.c.workspace == workspace)
            )
            if result.rowcount:
                await self._changed(conn, workspace, "bik", actor, "BIK disconnected")
            return bool(result.rowcount)

    async def rekey(self) -> int:
        """Re-seal every stored credential under the first key; returns how many."""
        async with self._writing() as conn:
            rows = (
                await conn.execute(sa.select(bik_connections.c.workspace, bik_connections.c.sealed))
            ).all()
            for row in rows:
                await conn.execute(
                    sa.update(bik_connections)
                    .where(bik_connections.c.workspace == row.workspace)
                    .values(sealed=self.box.reseal(row.sealed))
                )
        return len(rows)

    # -- policy ---------------------------------------------------------------------------------

    async def policy(self, workspace: str) -> StoredPolicy | None:
        c = policies.c
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(c.document, c.version, c.updated_by, c.updated_at).where(
                        c.workspace == workspace
                    )
                )
            ).first()
        return (
            StoredPolicy(row.document, row.version, row.updated_by, _aware(row.updated_at)) if row else None
        )

    async def save_policy(
        self,
        workspace: str,
        document: str,
        *,
        actor: str,
        summary: str,
        expected_version: str | None = None,
        require_installed: bool = False,
    ) -> Policy:
        """Validate ``document`` exactly like the policy file (raises :class:`bot.access.PolicyError`),
        then store it and record who changed what.

        ``expected_version`` (the Home tab's forms): the version the edit was made from, ``""`` for
        none; the policy is replaced only if it is still that one, checked inside the write (raises
        :class:`PolicyChanged`), so of two admins saving at once the second is refused instead of
        silently undoing the first. ``require_installed``: as :meth:`connect_bik`."""
        check_key(workspace)
        policy = Policy.from_toml(document, source=f"of workspace {workspace}")
        values = {"document": document, "version": policy.version, "updated_by": actor, "updated_at": _now()}
        async with self._writing() as conn:
            if require_installed and not await _installed(conn, workspace):
                raise NotInstalled(workspace)
            c = policies.c
            if expected_version is None:
                await conn.execute(sa.delete(policies).where(c.workspace == workspace))
                await conn.execute(sa.insert(policies).values(workspace=workspace, **values))
            elif expected_version == "":
                if await conn.scalar(sa.select(c.version).where(c.workspace == workspace)) is not None:
                    raise PolicyChanged(workspace)
                await conn.execute(sa.insert(policies).values(workspace=workspace, **values))
            else:
                # Conditional on the version (besides the lock every writer here takes first).
                updated = await conn.execute(
                    sa.update(policies)
                    .where(c.workspace == workspace, c.version == expected_version)
                    .values(**values)
                )
                if updated.rowcount != 1:
                    raise PolicyChanged(workspace)
            await self._changed(conn, workspace, "policy", actor, summary, version=policy.version)
        return policy

    # -- the whole workspace --------------------------------------------------------------------

    async def forget(self, workspace: str, *, actor: str, kind: str = "uninstall") -> None:
        """Uninstalled: its BIK credentials, its policy and its history go; one row says it went."""
        async with self._writing() as conn:
            for table in (bik_connections, policies, workspace_changes):
                await conn.execute(sa.delete(table).where(table.c.workspace == workspace))
            await self._changed(
                conn, workspace, kind, actor, "uninstalled: BIK credentials and policy deleted"
            )

    async def announce(self, workspace: str, kind: str, *, actor: str, summary: str) -> None:
        """Tell every process that ``workspace`` changed outside our tables (installed, tokens)."""
        async with self._writing() as conn:
            await self._changed(conn, workspace, kind, actor, summary)

    async def history(self, workspace: str, limit: int = 20) -> list[Change]:
        c = workspace_changes.c
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(workspace_changes)
                    .where(c.workspace == workspace)
                    .order_by(c.id.desc())
                    .limit(limit)
                )
            ).all()
        return [Change(r.id, r.workspace, r.kind, r.actor, r.summary, r.version, _aware(r.at)) for r in rows]

    async def changes_since(self, last_id: int) -> tuple[int, set[str]]:
        """The workspaces changed after change ``last_id``, and the newest change id."""
        c = workspace_changes.c
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(sa.select(c.id, c.workspace).where(c.id > last_id).order_by(c.id))
            ).all()
        if not rows:
            return last_id, set()
        return rows[-1].id, {r.workspace for r in rows}

    async def last_change(self) -> int:
        async with self.engine.connect() as conn:
            newest = await conn.scalar(sa.select(sa.func.max(workspace_changes.c.id)))
        return int(newest or 0)

    async def listed(self) -> list[Listed]:
        """Every installed workspace with its name, whether BIK is connected and its policy version;
        then any workspace with a BIK connection or a policy but no installation (``installed=False``)."""
        async with self.engine.connect() as conn:
            bots = (
                await conn.execute(
                    sa.text(
                        "SELECT enterprise_id, enterprise_name, team_id, team_name, is_enterprise_install "
                        "FROM slack_bots WHERE bot_token IS NOT NULL ORDER BY installed_at"
                    )
                )
            ).all()
            connected = {
                r.workspace: r.hint
                for r in (
                    await conn.execute(sa.select(bik_connections.c.workspace, bik_connections.c.hint))
                ).all()
            }
            versions = {
                r.workspace: r.version
                for r in (await conn.execute(sa.select(policies.c.workspace, policies.c.version))).all()
            }
        seen: dict[str, Listed] = {}
        for b in bots:
            key = b.enterprise_id if b.is_enterprise_install else b.team_id
            if not key:
                continue
            name = (b.enterprise_name if b.is_enterprise_install else b.team_name) or ""
            seen[key] = Listed(key, name, key in connected, connected.get(key, ""), versions.get(key))
        # Connected or given a policy before the app was installed there (the CLI can do both).
        for key in sorted((connected.keys() | versions.keys()) - seen.keys()):
            seen[key] = Listed(
                key, "", key in connected, connected.get(key, ""), versions.get(key), installed=False
            )
        return list(seen.values())

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction that first waits its turn: every writer of our tables takes the same
        lock before its first statement (PostgreSQL: an advisory lock held to the commit; SQLite: the
        database's write lock, ``BEGIN IMMEDIATE``). A check made inside — the workspace still
        installed, the policy still the version the form showed — then holds until the commit: an
        uninstall (:meth:`forget`) or a concurrent save waits, and sees this one's rows."""
        async with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHANGES_LOCK})
            elif conn.dialect.name == "sqlite":
                await conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn

    @staticmethod
    async def _changed(
        conn: AsyncConnection,
        workspace: str,
        kind: str,
        actor: str,
        summary: str,
        *,
        version: str | None = None,
    ) -> None:
        if conn.dialect.name == "postgresql":
            # Ids come from a sequence at insert, but transactions commit in any order: a reader that saw
            # id 11 would move past id 10 committed just after it. One writer at a time from here to the
            # commit (this is every transaction's last statement) keeps ids in commit order.
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHANGES_LOCK})
        await conn.execute(
            sa.insert(workspace_changes).values(
                workspace=workspace,
                kind=kind,
                actor=actor[:64],
                summary=summary[:500],
                version=version,
                at=_now(),
            )
        )


async def _installed(conn: AsyncConnection, workspace: str) -> bool:
    """Is the app installed for this workspace key: a ``slack_bots`` row with a bot token — a
    workspace install of that team (``T…``), or an org-wide install of that org (``E…``)?"""
    b = _slack_bots.c
    if workspace.startswith("E"):
        where = sa.and_(b.enterprise_id == workspace, b.is_enterprise_install.is_(True))
    else:
        where = sa.and_(b.team_id == workspace, b.is_enterprise_install.is_(False))
    found = await conn.scalar(
        sa.select(sa.literal(1)).select_from(_slack_bots).where(where, b.bot_token.is_not(None)).limit(1)
    )
    return found is not None


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
