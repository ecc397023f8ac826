"""What the metrics cost the command path: the same load on the code before the metrics work (a git
worktree at ``--before-rev``, default ``1029057``) and on the current commit (a worktree at ``HEAD``,
so commits landing during the run change nothing), run by this same harness, interleaved (each round
rotates the order) so drift in the machine's load falls on every arm alike. Both worktrees are removed
afterwards. Uncommitted changes in this checkout are not measured here.

Arms: *before* (the tree at ``--before-rev``), *current* (``HEAD``) and *metrics off* (``HEAD`` under
:mod:`bench.nometrics`: every metric call a no-op). Before → current is the comparison asked for, but
that range holds more than the metrics (content masking, sanitised BIK values, the audit's new fields,
policy reload, replay protection...); metrics off → current isolates the metrics alone.

Each run: one worker, warm-up, then the *burst* (400 commands at once: throughput and CPU per command;
the app is CPU-bound) and, in the same process, the *steady* load (50/s for 10 s: overhead at a
realistic rate).
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import commands
from bench.harness import COMMAND_POLICY, ROOT, AppUnderTest, Machine, Stands

BEFORE_REV = "1029057"
ARMS = ("before", "current", "metrics off")
BEFORE_TREE = Path(tempfile.gettempdir()) / "bench-before"
CURRENT_TREE = Path(tempfile.gettempdir()) / "bench-current"
NOMETRICS = ROOT / "bench" / "nometrics.py"


# -- the worktree ----------------------------------------------------------------------------------------


def git(*args: str) -> str:
    for attempt in range(20):
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        if done.returncode == 0:
            return done.stdout.strip()
        if "index.lock" not in done.stderr or attempt == 19:
            raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
        time.sleep(0.5)
    raise AssertionError("unreachable")


class Worktree:
    """``git worktree add --detach <path> <rev>`` for the run, removed afterwards."""

    def __init__(self, rev: str, path: Path) -> None:
        self.rev = rev
        self.path = path
        self.commit = ""

    def __enter__(self) -> Worktree:
        if self.path.exists():
            raise RuntimeError(f"{self.path} exists: remove it (git worktree remove {self.path}) first")
        git("worktree", "add", "--detach", str(self.path), self.rev)
        self.commit = git("-C", str(self.path), "rev-parse", "HEAD")
        return self

    def __exit__(self, *exc: object) -> None:
        git("worktree", "remove", "--force", str(self.path))
        git("worktree", "prune")


def check_imports(app: AppUnderTest) -> None:
    """The process under test must import the ``bot`` package of its own tree."""
    done = subprocess.run(
        [sys.executable, "-c", "import bot; print(bot.__file__)"],
        cwd=app.root,
        env=app.env,
        capture_output=True,
        text=True,
        check=True,
    )
    where = Path(done.stdout.strip()).resolve()
    if app.root.resolve() not in where.parents:
        raise RuntimeError(f"{app.label}: imports bot from {where}, not from {app.root}")


# -- runs ----------------------------------------------------------------------------------------------


def make_app(arm: str, stands: Stands, workdir: Path, before: Path, current: Path) -> AppUnderTest:
    # Every arm under the same policy, one the old tree reads too.
    if arm == "before":
        return AppUnderTest(
            "bot", 1, stands, workdir, root=before, label="before", policy_text=COMMAND_POLICY
        )
    if arm == "metrics off":
        argv = [sys.executable, str(NOMETRICS), "serve"]
        return AppUnderTest(
            "bot",
            1,
            stands,
            workdir,
            root=current,
            argv=argv,
            label="metrics_off",
            policy_text=COMMAND_POLICY,
        )
    return AppUnderTest("bot", 1, stands, workdir, root=current, label="current", policy_text=COMMAND_POLICY)


async def one_run(app: AppUnderTest, stands: Stands, tag: str) -> dict[str, Any]:
    check_imports(app)
    await asyncio.to_thread(app.start)
    out: dict[str, Any] = {}
    try:
        await commands.run_load(app.url, stands, commands.Scenario("warm", 20, 40, 1), f"warm-{tag}")
        for name in ("burst", "steady"):
            scenario = commands.SCENARIOS[name]
            cpu_before, machine = app.cpu_seconds(), Machine()
            outcome = await commands.run_load(app.url, stands, scenario, f"{tag}-{name}")
            cpu = app.cpu_seconds() - cpu_before
            result = commands.summarize(outcome, stands.latency, app.peak_rss)
            result["app_cpu_ms_per_command"] = round(1000 * cpu / max(1, len(outcome.samples)), 2)
            result["machine"] = machine.done()
            out[name] = result
            await asyncio.sleep(1.0)
    finally:
        await asyncio.to_thread(app.stop)
    out["log"] = app.log_summary()
    return out


async def run(stands: Stands, workdir: Path, rounds: int, before_rev: str) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in ARMS}
    order_log: list[str] = []
    with Worktree(before_rev, BEFORE_TREE) as before, Worktree("HEAD", CURRENT_TREE) as current:
        for r in range(rounds):
            order = ARMS[r % len(ARMS) :] + ARMS[: r % len(ARMS)]
            for arm in order:
                print(f"  metrics round {r + 1}/{rounds}: {arm}", flush=True)
                app = make_app(arm, stands, workdir, before.path, current.path)
                result = await one_run(app, stands, f"mc{r}-{arm.replace(' ', '_')}")
                result["round"] = r + 1
                runs[arm].append(result)
                order_log.append(arm)
    return {
        "before_rev": before_rev,
        "before_commit": before.commit,
        "current_commit": current.commit,
        "rounds": rounds,
        "order": order_log,
        "runs": runs,
        "summary": summarize(runs),
    }


# -- report ------------------------------------------------------------------------------------------


FIGURES = {
    "burst throughput /s": ("burst", "throughput_per_s"),
    "burst overhead p50 ms": ("burst", "overhead_ms", "p50"),
    "burst overhead p99 ms": ("burst", "overhead_ms", "p99"),
    "burst app CPU ms/command": ("burst", "app_cpu_ms_per_command"),
    "steady overhead p50 ms": ("steady", "overhead_ms", "p50"),
    "steady overhead p99 ms": ("steady", "overhead_ms", "p99"),
    "steady app CPU ms/command": ("steady", "app_cpu_ms_per_command"),
}


def figure(run: dict[str, Any], path: tuple[str, ...]) -> float:
    value: Any = run
    for key in path:
        value = value[key]
    return float(value)


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    medians = {
        arm: {
            name: round(statistics.median(figure(r, path) for r in rs), 2) for name, path in FIGURES.items()
        }
        for arm, rs in runs.items()
        if rs
    }

    def change(new: str, old: str) -> dict[str, float]:
        return {
            name: round(100 * (medians[new][name] - medians[old][name]) / medians[old][name], 1)
            for name in FIGURES
            if medians[old][name]
        }

    lost = {
        arm: sum(r[n]["lost"] + r[n]["missed_deadline"] for r in rs for n in ("burst", "steady"))
        for arm, rs in runs.items()
    }
    return {
        "median": medians,
        "change_pct": {
            "current vs before": change("current", "before"),
            "current vs metrics off": change("current", "metrics off"),
        },
        "lost_or_late": lost,
    }


def table(result: dict[str, Any]) -> list[str]:
    s = result["summary"]
    med, ch = s["median"], s["change_pct"]
    current = result.get("current_commit", "this checkout")[:7]
    lines = [
        f"Before = `{result['before_commit'][:7]}`, current = `{current}` (HEAD when "
        f"the run began), metrics off = `{current}` with every metric call a no-op; "
        f"{result['rounds']} interleaved rounds, medians; 1 worker; burst = 400 commands at once, "
        "steady = 50/s for 10 s.",
        "",
        "| figure | before | current | metrics off | current vs before | current vs metrics off |",
        "|---|---|---|---|---|---|",
    ]
    for name in FIGURES:
        lines.append(
            f"| {name} | {med['before'][name]} | {med['current'][name]} | {med['metrics off'][name]} "
            f"| {ch['current vs before'].get(name, float('nan')):+.1f} % "
            f"| {ch['current vs metrics off'].get(name, float('nan')):+.1f} % |"
        )
    lines += [
        "",
        "Each run: burst throughput /s, burst app CPU ms/command, steady overhead p50/p99 ms "
        "[machine's CPUs busy during the burst]:",
        "",
    ]
    for arm, rs in result["runs"].items():
        cells = "; ".join(
            f"r{r['round']} {r['burst']['throughput_per_s']}, {r['burst']['app_cpu_ms_per_command']}, "
            f"{r['steady']['overhead_ms']['p50']}/{r['steady']['overhead_ms']['p99']} "
            f"[{r['burst']['machine']['cpu_busy_pct']} %]"
            for r in rs
        )
        lines.append(f"- {arm}: {cells}")
    lines.append("")
    return lines


def targets(result: dict[str, Any]) -> list[tuple[str, bool]]:
    s = result["summary"]
    out = []
    for pair in ("current vs before", "current vs metrics off"):
        tp = s["change_pct"][pair].get("burst throughput /s", float("nan"))
        out.append(
            (f"metrics cost: burst throughput {pair} {tp:+.1f} % (target: no worse than -5 %)", tp >= -5)
        )
    out.append(
        (
            f"metrics cost: no command lost or late in any run ({s['lost_or_late']})",
            not any(s["lost_or_late"].values()),
        )
    )
    return out
