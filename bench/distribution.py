"""Distribution mode's command path (SPEC 11) against single-workspace mode, same load, same run.

*Distribution*: the bot with ``SLACK_CLIENT_ID``/``SLACK_CLIENT_SECRET``, no ``SLACK_BOT_TOKEN``, on a
real PostgreSQL (:mod:`bench.postgres`), serving two workspaces installed before it starts — rows
written by ``slack_sdk``'s installation store, as the OAuth flow writes them — each with its own bot
token, its own BIK token (sealed with ``BIK_CREDENTIALS_KEYS``) and its own copy of the bench's policy,
written through :class:`bot.workspaces.WorkspaceStore` as the Home tab and the CLI write them.
Commands alternate between the two workspaces (``team_id``); the BIK stand-in accepts the two tokens
(401 for anything else) and counts calls per token, the Slack stand-in counts calls per bot token.

*Single*: the bot as every other scenario runs it (``SLACK_BOT_TOKEN``, ``BIK_API_TOKEN``, the policy
file), every command from one workspace.

Each run is a fresh process (1 worker): warm-up (20 commands: each workspace's tenant is resolved
there), then *steady* (50/s for 10 s) and, in the same process, *burst* (400 at once). Rounds
alternate which mode goes first, so drift in the machine's load falls on both alike; medians are
reported, with distribution / single for every figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import commands
from bench.harness import BIK_TOKEN, POLICY, AppUnderTest, Machine, Stands
from bench.postgres import Cluster

ARMS = ("single", "distribution")
CLIENT_ID = "1111.2222"  # a stand-in client id and secret: nothing here reaches Slack
CLIENT_SECRET = "bench-client-secret"
TARGET = 0.20  # distribution's command path within 20 % of single-workspace mode


@dataclass(frozen=True)
class Workspace:
    team: str
    name: str
    slack_token: str
    bik_token: str


WORKSPACES = (
    Workspace("TBENCHA", "Bench A", "xoxb-bench-a", "YmVuY2gtYTpiZW5jaC1h"),
    Workspace("TBENCHB", "Bench B", "xoxb-bench-b", "YmVuY2gtYjpiZW5jaC1i"),
)
TEAMS = tuple(w.team for w in WORKSPACES)


# -- the database ----------------------------------------------------------------------------------


async def seed(url: str, credentials_key: str) -> str:
    """Migrate, then install both workspaces with their BIK tokens and policies (replacing what an
    earlier run left for them: only these two workspaces' rows are touched). Returns the head
    revision. Imported here: only this scenario needs SQLAlchemy and the bot's store."""
    from pydantic import SecretStr
    from slack_sdk.oauth.installation_store import Installation
    from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore

    from bot.config import DEFAULT_SCOPES
    from bot.credentials import BikCredentials, CredentialBox
    from bot.db import create_engine, current_revision, upgrade
    from bot.workspaces import WorkspaceStore

    engine = create_engine(url)
    try:
        await upgrade(engine)
        installations = AsyncSQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=engine)
        store = WorkspaceStore(engine, CredentialBox([credentials_key]))
        for n, ws in enumerate(WORKSPACES):
            await installations.async_delete_installation(enterprise_id=None, team_id=ws.team)
            await installations.async_delete_bot(enterprise_id=None, team_id=ws.team)
            await installations.async_save(
                Installation(
                    app_id="A1",
                    team_id=ws.team,
                    team_name=ws.name,
                    bot_token=ws.slack_token,
                    bot_id=f"BBENCH{n}",
                    bot_user_id=f"UBOT{n}",
                    bot_scopes=DEFAULT_SCOPES,
                    user_id="UINSTALLER",
                    is_enterprise_install=False,
                    token_type="bot",
                    installed_at=time.time(),
                )
            )
            await store.connect_bik(ws.team, BikCredentials(token=SecretStr(ws.bik_token)), actor="bench")
            await store.save_policy(ws.team, POLICY, actor="bench", summary="bench policy")
        return str(await current_revision(engine))
    finally:
        await engine.dispose()


# -- runs ------------------------------------------------------------------------------------------


def make_app(
    arm: str,
    stands: Stands,
    workdir: Path,
    database_url: str,
    credentials_key: str,
    *,
    argv: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> AppUnderTest:
    """The bot in ``arm``'s mode; ``argv``/``env`` as :class:`AppUnderTest`'s (a profiling wrapper)."""
    if arm == "single":
        return AppUnderTest("bot", 1, stands, workdir, label="dist-single", argv=argv, env=env)
    return AppUnderTest(
        "bot",
        1,
        stands,
        workdir,
        label="dist-distribution",
        argv=argv,
        env={
            "SLACK_CLIENT_ID": CLIENT_ID,
            "SLACK_CLIENT_SECRET": CLIENT_SECRET,
            "DATABASE_URL": database_url,
            "BIK_CREDENTIALS_KEYS": credentials_key,
            **(env or {}),
        },
        unset=("SLACK_BOT_TOKEN", "BIK_API_TOKEN"),
    )


def expected_calls(arm: str, sent: int) -> dict[str, int]:
    """BIK calls per credential for ``sent`` commands (each asks for its own id: one call each)."""
    if arm == "single":
        return {BIK_TOKEN: sent}
    return {ws.bik_token: len(range(n, sent, len(WORKSPACES))) for n, ws in enumerate(WORKSPACES)}


async def one_run(app: AppUnderTest, arm: str, stands: Stands, tag: str) -> dict[str, Any]:
    teams = TEAMS if arm == "distribution" else ("T1",)
    bik_before, slack_before = Counter(stands.bik_by_token), Counter(stands.slack.tokens)
    await asyncio.to_thread(app.start)
    out: dict[str, Any] = {}
    warm = commands.Scenario("warm", 20, 40, 1)
    phases = [warm.commands]
    try:
        await commands.run_load(app.url, stands, warm, f"warm-{tag}", teams)
        for name in ("steady", "burst"):
            scenario = commands.SCENARIOS[name]
            cpu_before, machine = app.cpu_seconds(), Machine()
            outcome = await commands.run_load(app.url, stands, scenario, f"{tag}-{name}", teams)
            cpu = app.cpu_seconds() - cpu_before
            result = commands.summarize(outcome, stands.latency, app.peak_rss)
            result["app_cpu_ms_per_command"] = round(1000 * cpu / max(1, len(outcome.samples)), 2)
            result["machine"] = machine.done()
            out[name] = result
            phases.append(scenario.commands)
            await asyncio.sleep(1.0)
    finally:
        await asyncio.to_thread(app.stop)
    # Each command's BIK call made with its own workspace's credential (per run: warm-up included).
    bik = {k: v for k, v in (stands.bik_by_token - bik_before).items() if v}
    expected: dict[str, int] = {}
    for phase in phases:
        for token, count in expected_calls(arm, phase).items():
            expected[token] = expected.get(token, 0) + count
    out["bik_calls_by_token"] = bik
    out["bik_calls_as_expected"] = bik == expected
    out["slack_calls_by_token"] = {k: v for k, v in (stands.slack.tokens - slack_before).items() if v}
    out["commands_sent"] = sum(phases)
    out["log"] = app.log_summary()
    return out


@dataclass(frozen=True)
class Database:
    url: str
    credentials_key: str
    where: str
    revision: str


@contextlib.asynccontextmanager
async def database(stands: Stands) -> AsyncIterator[Database]:
    """``BENCH_DATABASE_URL``, else a throwaway cluster (stopped on the way out, whatever happens),
    seeded with the two workspaces; the BIK stand-in accepts their tokens and the single-workspace
    one, and nothing else, meanwhile."""
    credentials_key = os.environ.get("BENCH_CREDENTIALS_KEY") or _new_key()
    cluster: Cluster | None = None
    url = os.environ.get("BENCH_DATABASE_URL", "")
    where = "BENCH_DATABASE_URL"
    accepted_before = stands.bik_accept
    try:
        if not url:
            cluster = Cluster()
            url = await asyncio.to_thread(cluster.start)
            where = f"throwaway cluster, PostgreSQL {cluster.version}, fsync off"
        revision = await seed(url, credentials_key)
        stands.bik_accept = {BIK_TOKEN, *(ws.bik_token for ws in WORKSPACES)}
        yield Database(url, credentials_key, where, revision)
    finally:
        stands.bik_accept = accepted_before
        if cluster is not None:
            cluster.stop()  # blocking on purpose: it must happen even while this task is cancelled


async def run(stands: Stands, workdir: Path, rounds: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in ARMS}
    order_log: list[str] = []
    async with database(stands) as db:
        for r in range(rounds):
            order = ARMS if r % 2 == 0 else ARMS[::-1]
            for arm in order:
                print(f"  distribution round {r + 1}/{rounds}: {arm}", flush=True)
                app = make_app(arm, stands, workdir, db.url, db.credentials_key)
                result = await one_run(app, arm, stands, f"dist{r}-{arm}")
                result["round"] = r + 1
                runs[arm].append(result)
                order_log.append(arm)
    return {
        "database": db.where,
        "migration": db.revision,
        "workspaces": [ws.team for ws in WORKSPACES],
        "rounds": rounds,
        "order": order_log,
        "runs": runs,
        "summary": summarize(runs),
    }


def _new_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


# -- report ----------------------------------------------------------------------------------------


FIGURES: dict[str, tuple[str, ...]] = {
    "steady ack p50 ms": ("steady", "ack_ms", "p50"),
    "steady ack p99 ms": ("steady", "ack_ms", "p99"),
    "steady reply p50 ms": ("steady", "reply_ms", "p50"),
    "steady reply p99 ms": ("steady", "reply_ms", "p99"),
    "steady overhead p50 ms": ("steady", "overhead_ms", "p50"),
    "steady overhead p99 ms": ("steady", "overhead_ms", "p99"),
    "steady throughput /s": ("steady", "throughput_per_s"),
    "steady app CPU ms/command": ("steady", "app_cpu_ms_per_command"),
    "burst ack p50 ms": ("burst", "ack_ms", "p50"),
    "burst ack p99 ms": ("burst", "ack_ms", "p99"),
    "burst overhead p50 ms": ("burst", "overhead_ms", "p50"),
    "burst overhead p99 ms": ("burst", "overhead_ms", "p99"),
    "burst last reply after last sent s": ("burst", "last_reply_after_last_sent_s"),
    "burst throughput /s": ("burst", "throughput_per_s"),
    "burst app CPU ms/command": ("burst", "app_cpu_ms_per_command"),
    "peak RSS MB": ("burst", "peak_rss_mb_per_process"),
}
HIGHER_IS_BETTER = {"steady throughput /s", "burst throughput /s"}
TARGETED = (
    "steady overhead p50 ms",
    "steady overhead p99 ms",
    "steady app CPU ms/command",
    "burst throughput /s",
    "burst app CPU ms/command",
)
"""The command path's cost: what the 20 % target is checked on (every figure is reported)."""


def figure(run: dict[str, Any], path: tuple[str, ...]) -> float:
    value: Any = run
    for key in path:
        value = value[key]
    return float(value)


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    medians = {
        arm: {name: round(statistics.median(figure(r, p) for r in rs), 2) for name, p in FIGURES.items()}
        for arm, rs in runs.items()
        if rs
    }
    ratio = {
        name: round(medians["distribution"][name] / medians["single"][name], 3)
        for name in FIGURES
        if "single" in medians and "distribution" in medians and medians["single"][name]
    }
    # Round by round (the two modes ran back to back): less exposed to the machine's drift.
    paired: dict[str, list[float]] = {}
    for a, b in zip(runs.get("single", []), runs.get("distribution", []), strict=False):
        for name, p in FIGURES.items():
            if figure(a, p):
                paired.setdefault(name, []).append(round(figure(b, p) / figure(a, p), 3))
    lost = {
        arm: sum(
            r[n]["lost"] + r[n]["missed_deadline"] + r[n]["duplicates"]
            for r in rs
            for n in ("steady", "burst")
        )
        for arm, rs in runs.items()
    }
    wrong_credentials = {arm: sum(not r["bik_calls_as_expected"] for r in rs) for arm, rs in runs.items()}
    return {
        "median": medians,
        "ratio": ratio,
        "paired_ratios": paired,
        "lost_late_or_duplicated": lost,
        "runs_with_wrong_bik_calls": wrong_credentials,
    }


def within(name: str, ratio: float) -> bool:
    return ratio >= 1 - TARGET if name in HIGHER_IS_BETTER else ratio <= 1 + TARGET


def table(result: dict[str, Any]) -> list[str]:
    s = result["summary"]
    med, ratio = s["median"], s["ratio"]
    lines = [
        f"Two workspaces ({', '.join(result['workspaces'])}) in one distribution-mode process on "
        f"PostgreSQL ({result['database']}; schema `{result['migration']}`), commands alternating between "
        "them, each workspace with its own bot token and BIK token; single = the bot with "
        f"`SLACK_BOT_TOKEN` and the policy file. Rounds: {result['rounds']}, the modes' order alternating; "
        "medians; 1 worker; steady = 50/s for 10 s, then burst = 400 at once in the same process. "
        "Ratio = distribution / single of the medians (target: within 20 % on the figures marked *); "
        "per round = the same ratio within each round (the two modes back to back): median and range.",
        "",
        "| figure | single | distribution | distribution / single | per round: median (range) |",
        "|---|---|---|---|---|",
    ]
    for name in FIGURES:
        mark = " *" if name in TARGETED else ""
        r = ratio.get(name)
        cell = f"{r:.2f}" if r is not None else "n/a"
        if r is not None and name in TARGETED and not within(name, r):
            cell = f"**{cell}**"
        rounds = s.get("paired_ratios", {}).get(name) or [float("nan")]
        spread = f"{statistics.median(rounds):.2f} ({min(rounds):.2f}–{max(rounds):.2f})"
        lines.append(
            f"| {name}{mark} | {med['single'][name]} | {med['distribution'][name]} | {cell} | {spread} |"
        )
    lines += [
        "",
        "Each run: steady overhead p50/p99 ms, steady app CPU ms/command, burst throughput /s, burst app "
        "CPU ms/command [machine's CPUs busy during steady / burst]:",
        "",
    ]
    for arm, rs in result["runs"].items():
        cells = "; ".join(
            f"r{r['round']} {r['steady']['overhead_ms']['p50']}/{r['steady']['overhead_ms']['p99']}, "
            f"{r['steady']['app_cpu_ms_per_command']}, {r['burst']['throughput_per_s']}, "
            f"{r['burst']['app_cpu_ms_per_command']} "
            f"[{r['steady']['machine']['cpu_busy_pct']} / {r['burst']['machine']['cpu_busy_pct']} %]"
            for r in rs
        )
        lines.append(f"- {arm}: {cells}")
    last = result["runs"]["distribution"][-1] if result["runs"]["distribution"] else None
    if last is not None:
        bik = ", ".join(f"…{token[-4:]}: {n}" for token, n in sorted(last["bik_calls_by_token"].items()))
        slack = ", ".join(
            f"{token or '(none)'}: {n}" for token, n in sorted(last["slack_calls_by_token"].items())
        )
        lines += [
            "",
            f"Last distribution run: BIK calls by credential {bik} ({last['commands_sent']} commands); "
            f"Slack Web API calls by bot token {slack}.",
        ]
    lines.append("")
    return lines


def targets(result: dict[str, Any]) -> list[tuple[str, bool]]:
    s = result["summary"]
    out = []
    for name in TARGETED:
        r = s["ratio"].get(name, float("nan"))
        bound = f">= {1 - TARGET:.2f}" if name in HIGHER_IS_BETTER else f"<= {1 + TARGET:.2f}"
        out.append((f"distribution: {name} distribution/single {r:.2f} (target {bound})", within(name, r)))
    out.append(
        (
            f"distribution: no command lost, late or answered twice in any run ({s['lost_late_or_duplicated']})",
            not any(s["lost_late_or_duplicated"].values()),
        )
    )
    out.append(
        (
            "distribution: every BIK call made with its own workspace's credential "
            f"(runs with wrong calls: {s['runs_with_wrong_bik_calls']})",
            not any(s["runs_with_wrong_bik_calls"].values()),
        )
    )
    return out
