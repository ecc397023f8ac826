"""What distribution mode keeps per workspace (bot/db.py, bot/workspaces.py), on SQLite and on a real
PostgreSQL: migrations, sealed BIK credentials, policies, the history and change feed, uninstalls,
key rotation, and the list of installed workspaces read from slack_sdk's own tables."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from pydantic import SecretStr
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from sqlalchemy.ext.asyncio import AsyncEngine

import bot.logs
from bot.access import PolicyError
from bot.credentials import BikCredentials, CredentialBox, CredentialsUnreadable
from bot.db import MIGRATIONS, create_engine, current_revision, metadata, upgrade
from bot.distribution import BoundedStateStore, TooManyStates
from bot.workspaces import Listed, NotInstalled, PolicyChanged, WorkspaceStore

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
TOKEN = "bik-token-5f2a9c71e04d8b36"
KEY, SECRET = "bik-key-0a1b2c3d4e5f9931", "bik-secret-77e1d9a0c4b2f6e8"
A, B, ORG = "T0AAAAAA1", "T0BBBBBB2", "E0GRID001"
ADMIN = "U0ADMIN01"
POLICY = """
[defaults]
allow = false

[channels.C0123ABCD]
allow = true
"""
POLICY_2 = POLICY + 'reply = "in_channel"\n'
HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


def token() -> BikCredentials:
    return BikCredentials(token=SecretStr(TOKEN))


def key_pair() -> BikCredentials:
    return BikCredentials(key=SecretStr(KEY), secret=SecretStr(SECRET))


@pytest.fixture(autouse=True)
def _own_log_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Opened credentials join the log redactor for the life of the process: keep ours to this module."""
    monkeypatch.setattr(bot.logs, "_secrets", list(bot.logs._secrets))
    monkeypatch.setattr(bot.logs, "_by_prefix", {k: list(v) for k, v in bot.logs._by_prefix.items()})
    yield


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An empty database."""
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def store(migrated_database_url: str) -> AsyncIterator[WorkspaceStore]:
    """A database at head, its credentials sealed with OLD."""
    engine = create_engine(migrated_database_url)
    yield WorkspaceStore(engine, CredentialBox([OLD]))
    await engine.dispose()


async def raw_rows(engine: AsyncEngine) -> str:
    """Every row of every table, as text."""
    lines = []
    async with engine.connect() as conn:
        for name in await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()):
            query: sa.Select[Any] = sa.select(sa.literal_column("*")).select_from(sa.table(name))
            lines += [f"{name}: {row}" for row in (await conn.execute(query)).all()]
    return "\n".join(lines)


# -- migrations -------------------------------------------------------------------------------------


async def test_upgrade_creates_every_table_and_a_second_upgrade_changes_nothing(engine: AsyncEngine) -> None:
    assert await current_revision(engine) is None
    await upgrade(engine)
    assert await current_revision(engine) == HEAD
    async with engine.connect() as conn:
        tables = set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    assert tables >= {*metadata.tables, "slack_installations", "slack_bots", "slack_oauth_states"}

    await upgrade(engine)
    assert await current_revision(engine) == HEAD


async def test_two_workers_migrating_a_fresh_database_at_once_both_succeed(database_url: str) -> None:
    """Every worker process migrates at start-up (WEB_CONCURRENCY): the second waits for the first,
    then has nothing left to do, instead of failing on tables that already exist. Two engines here:
    two connections, as two processes would have."""
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        await asyncio.gather(*(upgrade(e) for e in engines))
        assert [await current_revision(e) for e in engines] == [HEAD, HEAD]
    finally:
        for e in engines:
            await e.dispose()


# -- BIK connection ---------------------------------------------------------------------------------


async def test_a_connection_shows_kind_hint_who_and_when_and_never_the_secret(store: WorkspaceStore) -> None:
    assert await store.connection(A) is None and await store.bik_credentials(A) is None
    before = datetime.now(UTC)
    await store.connect_bik(A, key_pair(), actor=ADMIN)

    shown = await store.connection(A)
    assert shown is not None
    assert (shown.kind, shown.hint, shown.connected_by) == ("key", KEY[-4:], ADMIN)
    assert before - timedelta(seconds=1) <= shown.connected_at <= datetime.now(UTC) + timedelta(seconds=1)
    assert all(secret not in repr(shown) for secret in (KEY, SECRET))

    opened = await store.bik_credentials(A)
    assert opened is not None
    assert opened.authorization.get_secret_value() == key_pair().authorization.get_secret_value()


async def test_connecting_again_replaces_the_credential(store: WorkspaceStore) -> None:
    await store.connect_bik(A, key_pair(), actor=ADMIN)
    await store.connect_bik(A, token(), actor="cli")
    shown = await store.connection(A)
    assert shown is not None and (shown.kind, shown.hint, shown.connected_by) == ("token", TOKEN[-4:], "cli")
    opened = await store.bik_credentials(A)
    assert opened is not None and opened.authorization.get_secret_value() == TOKEN


async def test_disconnecting_forgets_the_credential_and_records_it_once(store: WorkspaceStore) -> None:
    await store.connect_bik(A, token(), actor=ADMIN)
    assert await store.disconnect_bik(A, actor=ADMIN) is True
    assert await store.connection(A) is None and await store.bik_credentials(A) is None
    newest = await store.last_change()

    assert await store.disconnect_bik(A, actor=ADMIN) is False
    assert await store.last_change() == newest
    assert [(c.kind, c.summary) for c in await store.history(A)] == [
        ("bik", "BIK disconnected"),
        ("bik", f"BIK connected (token ending {TOKEN[-4:]})"),
    ]


async def test_no_table_holds_a_credential_in_plain_text(store: WorkspaceStore) -> None:
    await store.connect_bik(A, token(), actor=ADMIN)
    await store.connect_bik(B, key_pair(), actor=ADMIN)
    everything = await raw_rows(store.engine)
    assert "gAAAAA" in everything  # the sealed values are there
    for plain in (TOKEN, KEY, SECRET, key_pair().authorization.get_secret_value()):
        assert plain not in everything


# -- policy -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ("[defaults\nallow = true\n", "not valid TOML"),
        ("[defaults]\nallow = true\nalow = false\n", "defaults.alow: unknown key"),
        (
            "[channels.C0123ABCD]\nallow = true\nreplie = 'in_channel'\n",
            "channels.C0123ABCD.replie: unknown key",
        ),
    ],
    ids=["bad-toml", "unknown-default", "unknown-channel-key"],
)
async def test_an_invalid_policy_is_refused_naming_the_problem_and_nothing_changes(
    store: WorkspaceStore, document: str, named: str
) -> None:
    await store.save_policy(A, POLICY, actor=ADMIN, summary="first policy")
    kept = await store.policy(A)
    newest = await store.last_change()

    with pytest.raises(PolicyError) as caught:
        await store.save_policy(A, document, actor=ADMIN, summary="broken edit")
    assert named in str(caught.value) and A in str(caught.value)

    assert await store.policy(A) == kept
    assert await store.last_change() == newest
    with pytest.raises(PolicyError):
        await store.save_policy(B, document, actor=ADMIN, summary="broken first policy")
    assert await store.policy(B) is None and await store.history(B) == []


async def test_history_records_who_changed_what_and_which_version_newest_first(store: WorkspaceStore) -> None:
    first = await store.save_policy(A, POLICY, actor=ADMIN, summary="allowed #support")
    await store.connect_bik(A, token(), actor="cli")
    second = await store.save_policy(A, POLICY_2, actor="U0OTHER02", summary="#support replies in channel")
    assert first.version != second.version

    stored = await store.policy(A)
    assert stored is not None
    assert (stored.document, stored.version, stored.updated_by) == (POLICY_2, second.version, "U0OTHER02")
    history = await store.history(A)
    assert [(c.kind, c.actor, c.summary, c.version) for c in history] == [
        ("policy", "U0OTHER02", "#support replies in channel", second.version),
        ("bik", "cli", f"BIK connected (token ending {TOKEN[-4:]})", None),
        ("policy", ADMIN, "allowed #support", first.version),
    ]
    assert all(c.workspace == A and c.at.tzinfo is not None for c in history)
    assert [c.id for c in await store.history(A, limit=1)] == [history[0].id]


# -- the change feed and uninstalls -----------------------------------------------------------------


async def test_change_ids_only_grow_even_after_an_uninstall_deletes_the_newest(store: WorkspaceStore) -> None:
    assert await store.last_change() == 0
    await store.save_policy(B, POLICY, actor=ADMIN, summary="b")
    await store.connect_bik(A, token(), actor=ADMIN)
    await store.save_policy(A, POLICY, actor=ADMIN, summary="a")
    ids = [c.id for c in reversed(await store.history(A) + await store.history(B))]
    newest = await store.last_change()
    assert sorted(ids) == ids and len(set(ids)) == 3 and newest == max(ids)

    # A's rows are the newest: a reused id would be at most `newest`, and a process that had read the
    # feed up to there would never learn that A was uninstalled.
    await store.forget(A, actor="slack")
    gone = await store.history(A)
    assert [c.kind for c in gone] == ["uninstall"] and gone[0].id > newest
    assert await store.changes_since(newest) == (gone[0].id, {A})

    await store.announce(B, "tokens", actor="slack", summary="bot token rotated")
    last, changed = await store.changes_since(newest)
    assert changed == {A, B} and last == await store.last_change() > gone[0].id
    assert await store.changes_since(last) == (last, set())


async def test_a_change_committed_late_is_not_skipped_by_the_feed(store: WorkspaceStore) -> None:
    """Two processes write at once: the feed must not hand out the second's id while the first's
    smaller one is still uncommitted, or a reader moves past it and never sees that change."""
    start = await store.last_change()
    async with store.engine.connect() as slow, slow.begin():
        await WorkspaceStore._changed(slow, A, "policy", ADMIN, "a slow edit")
        quick = asyncio.create_task(store.announce(B, "tokens", actor="slack", summary="token rotated"))
        await asyncio.wait({quick}, timeout=0.3)
        read_up_to, seen = await store.changes_since(start)
    await quick
    _, later = await store.changes_since(read_up_to)
    assert seen | later == {A, B}


async def test_forgetting_a_workspace_leaves_every_other_one_untouched(store: WorkspaceStore) -> None:
    for workspace in (A, B):
        await store.connect_bik(workspace, token(), actor=ADMIN)
        await store.save_policy(workspace, POLICY, actor=ADMIN, summary="first policy")
    b_before = (await store.connection(B), await store.policy(B), await store.history(B))

    await store.forget(A, actor="slack")
    assert await store.connection(A) is None and await store.bik_credentials(A) is None
    assert await store.policy(A) is None
    assert [(c.kind, c.actor) for c in await store.history(A)] == [("uninstall", "slack")]

    assert (await store.connection(B), await store.policy(B), await store.history(B)) == b_before
    opened = await store.bik_credentials(B)
    assert opened is not None and opened.authorization.get_secret_value() == TOKEN


# -- key rotation -----------------------------------------------------------------------------------


async def test_rekey_reseals_everything_so_the_new_key_alone_opens_it(store: WorkspaceStore) -> None:
    await store.connect_bik(A, token(), actor=ADMIN)
    await store.connect_bik(B, key_pair(), actor=ADMIN)
    newest = await store.last_change()

    assert await WorkspaceStore(store.engine, CredentialBox([NEW, OLD])).rekey() == 2

    only_new = WorkspaceStore(store.engine, CredentialBox([NEW]))
    opened_a, opened_b = await only_new.bik_credentials(A), await only_new.bik_credentials(B)
    assert opened_a is not None and opened_a.authorization.get_secret_value() == TOKEN
    assert opened_b is not None
    assert opened_b.authorization.get_secret_value() == key_pair().authorization.get_secret_value()
    with pytest.raises(CredentialsUnreadable):
        await store.bik_credentials(A)  # OLD alone
    assert await store.last_change() == newest


async def test_a_rekey_that_meets_an_unreadable_credential_changes_nothing(store: WorkspaceStore) -> None:
    await store.connect_bik(A, token(), actor=ADMIN)  # sealed with OLD
    await WorkspaceStore(store.engine, CredentialBox([NEW])).connect_bik(B, token(), actor=ADMIN)
    before = await raw_rows(store.engine)

    with pytest.raises(CredentialsUnreadable):
        await WorkspaceStore(store.engine, CredentialBox([Fernet.generate_key().decode(), OLD])).rekey()
    assert await raw_rows(store.engine) == before


# -- installed workspaces ---------------------------------------------------------------------------


async def test_listed_shows_each_installed_workspace_once_and_org_wide_installs_under_their_org_id(
    store: WorkspaceStore,
) -> None:
    installations = AsyncSQLAlchemyInstallationStore(client_id="1111.2222", engine=store.engine)
    when = datetime.now(UTC).timestamp() - 100

    def install(n: int, **values: Any) -> Installation:
        return Installation(
            app_id="A0APP0001",
            bot_token=f"xoxb-{n}",
            bot_id=f"B0BOT000{n}",
            bot_user_id=f"U0BOT000{n}",
            bot_scopes="commands,users:read",
            user_id=ADMIN,
            installed_at=when + n,
            **values,
        )

    await installations.async_save(install(1, team_id=A, team_name="Acme"))
    await installations.async_save(install(2, team_id=A, team_name="Acme Inc"))  # reinstalled, renamed
    in_org = {"enterprise_id": ORG, "enterprise_name": "Grid Org"}
    await installations.async_save(install(3, **in_org, team_id=None, is_enterprise_install=True))
    await installations.async_save(install(4, **in_org, team_id=B, team_name="Ops"))
    await store.connect_bik(A, token(), actor=ADMIN)
    policy = await store.save_policy(ORG, POLICY, actor=ADMIN, summary="first policy")
    await store.connect_bik("T0NOTINSTALLED", token(), actor="cli")  # by the CLI, before installing

    assert await store.listed() == [
        Listed(A, "Acme Inc", True, TOKEN[-4:], None),
        Listed(ORG, "Grid Org", False, "", policy.version),
        Listed(B, "Ops", False, "", None),
        Listed("T0NOTINSTALLED", "", True, TOKEN[-4:], None, installed=False),
    ]


# -- OAuth states -----------------------------------------------------------------------------------


async def test_oauth_states_are_purged_when_expired_and_capped_while_live(migrated_database_url: str) -> None:
    """Every anonymous ``GET /slack/install`` issues a state: the store deletes the expired ones
    first and refuses a new one while ``max_live`` are live, so a flood leaves a bounded table; a
    state issued is still consumed once, within its lifetime, even by callbacks racing."""
    engine = create_engine(migrated_database_url)
    try:
        states = BoundedStateStore(expiration_seconds=600, engine=engine, max_live=5)

        async def count() -> int:
            async with engine.connect() as conn:
                return int(await conn.scalar(sa.text("SELECT count(*) FROM slack_oauth_states")) or 0)

        issued = [await states.async_issue() for _ in range(5)]
        for _ in range(20):
            with pytest.raises(TooManyStates):
                await states.async_issue()
        assert await count() == 5
        assert await states.async_consume(issued[0]) and not await states.async_consume(issued[0])
        fresh = await states.async_issue()  # one consumed: room for one more
        async with engine.begin() as conn:  # ten minutes pass for all but the newest
            await conn.execute(
                sa.text("UPDATE slack_oauth_states SET expire_at = :past WHERE state != :fresh"),
                {"past": datetime(2000, 1, 1), "fresh": fresh},
            )
        newest = await states.async_issue()
        assert await count() == 2
        assert not await states.async_consume(issued[1])  # expired (and gone)
        assert await states.async_consume(fresh)
        assert sorted(await asyncio.gather(*(states.async_consume(newest) for _ in range(3)))) == [
            False,
            False,
            True,
        ]  # callbacks racing with one state: one has it
        assert not await states.async_consume("") and not await states.async_consume("x" * 100_000)
        async with engine.connect() as conn:
            indexes = await conn.run_sync(
                lambda sync: {i["name"] for i in sa.inspect(sync).get_indexes("slack_oauth_states")}
            )
        assert {"ix_slack_oauth_states_expire_at", "ix_slack_oauth_states_state"} <= indexes
    finally:
        await engine.dispose()


# -- conditional writes (the Home tab's) ------------------------------------------------------------


async def test_a_save_from_a_stale_version_is_refused_inside_the_write(
    store: WorkspaceStore, migrated_database_url: str
) -> None:
    """``expected_version``: the policy is replaced only while it is still the version the form was
    filled from. Two admins saving from the same version at once (two engines: two processes): one
    is saved, the other refused — never both, the second silently undoing the first."""
    first = await store.save_policy(A, POLICY, actor=ADMIN, summary="first", expected_version="")
    with pytest.raises(PolicyChanged):  # "" means: there was none; there is one now
        await store.save_policy(A, POLICY_2, actor=ADMIN, summary="again", expected_version="")
    with pytest.raises(PolicyChanged):
        await store.save_policy(A, POLICY_2, actor=ADMIN, summary="stale", expected_version="0000")
    assert (await store.policy(A)).version == first.version  # type: ignore[union-attr]

    other = WorkspaceStore(create_engine(migrated_database_url), CredentialBox([OLD]))
    try:
        third = POLICY + "\n[channels.C0999ZZZZ]\nallow = true\n"
        outcomes = await asyncio.gather(
            store.save_policy(A, POLICY_2, actor="U0ONE", summary="one", expected_version=first.version),
            other.save_policy(A, third, actor="U0TWO", summary="two", expected_version=first.version),
            return_exceptions=True,
        )
    finally:
        await other.engine.dispose()
    saved = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, PolicyChanged)]
    assert len(saved) == 1 and len(refused) == 1, outcomes
    stored = await store.policy(A)
    assert stored is not None and stored.version == saved[0].version
    summaries = [c.summary for c in await store.history(A)]
    assert summaries.count("one") + summaries.count("two") == 1 and "stale" not in summaries


async def test_home_tab_writes_need_the_app_installed_checked_inside_the_write(store: WorkspaceStore) -> None:
    """``require_installed``: a workspace key (``T…``) needs its own workspace install, an org key
    (``E…``) an org-wide install; with the bot row gone (an uninstall) nothing is written. Without it
    (the CLI) a workspace may be connected before the app is installed there."""
    installations = AsyncSQLAlchemyInstallationStore(client_id="1111.2222", engine=store.engine)

    def install(**values: Any) -> Installation:
        return Installation(app_id="A0APP0001", bot_token="xoxb-1", bot_id="B1", user_id=ADMIN, **values)

    await installations.async_save(install(team_id=A, team_name="Acme"))
    await installations.async_save(install(enterprise_id=ORG, team_id=None, is_enterprise_install=True))
    await store.connect_bik(A, token(), actor=ADMIN, require_installed=True)
    await store.save_policy(ORG, POLICY, actor=ADMIN, summary="org", require_installed=True)
    for key in (B, "E0NOTHERE", "T" + ORG[1:]):  # not installed; an org id read as a team id
        with pytest.raises(NotInstalled):
            await store.connect_bik(key, token(), actor=ADMIN, require_installed=True)
        with pytest.raises(NotInstalled):
            await store.save_policy(key, POLICY, actor=ADMIN, summary="x", require_installed=True)
    await installations.async_delete_bot(enterprise_id=None, team_id=A)  # uninstalled
    with pytest.raises(NotInstalled):
        await store.connect_bik(A, key_pair(), actor=ADMIN, require_installed=True)
    assert (await store.connection(A)).kind == "token"  # type: ignore[union-attr]
    await store.connect_bik(B, token(), actor="cli")  # the CLI, before the install
    assert {r.workspace for r in await store.listed() if r.bik_connected} == {A, B}
