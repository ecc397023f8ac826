"""``make bench``: load the real app (the Procfile's ``web:`` command) as a real process, against
local stand-ins for BIK (fixed latency) and Slack, and report what Slack and its users would see — as
tables in ``bench/results/latest.md`` and everything in ``latest.json``.

Scenarios (``--scenarios``, comma-separated; default all):

- ``steady``, ``burst``, ``workers``: slash commands, the bot against the quickstart-style baseline
  (:mod:`bench.commands`);
- ``shortcuts``, ``unfurls``: message shortcuts and link unfurls at a steady rate (:mod:`bench.surfaces`);
- ``metrics``: the command path before and after the metrics work, interleaved (:mod:`bench.metrics_cost`);
- ``distribution``: the command path in distribution mode (two workspaces, PostgreSQL) against
  single-workspace mode, interleaved (:mod:`bench.distribution`).

Everything runs on 127.0.0.1. This process hosts the stand-ins and the load generator on uvloop; the
app under test runs in its own process(es). A run of some scenarios keeps the others' last figures
(from ``latest.json``), each with its own date, code and machine load.

    .venv/bin/python -m bench [--scenarios steady,burst,...] [--only bot|baseline] [--latency 0.25]
                              [--rounds 4] [--before-rev 1029057] [--fresh]

``distribution`` uses ``BENCH_DATABASE_URL`` (``postgresql+asyncpg://…``) when set, else starts and
stops a throwaway PostgreSQL cluster (:mod:`bench.postgres`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

from bench import commands, distribution, metrics_cost, surfaces
from bench.harness import ROOT, AppUnderTest, Machine, Stands
from bench.postgres import NoPostgres

RESULTS = ROOT / "bench" / "results"
ALL = [*commands.SCENARIOS, *surfaces.SURFACES, "metrics", "distribution"]


def code_state() -> str:
    """The commit under test, and whether bot/ or handlers/ differ from it (uncommitted work)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot", "handlers"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    changed = sorted(line[3:] for line in dirty if line.strip())
    return head + (f" + uncommitted {', '.join(changed)}" if changed else "")


async def main_async(args: argparse.Namespace, report: dict[str, Any]) -> None:
    stands = Stands(args.latency)
    await stands.start()
    apps = [a for a in ("bot", "baseline") if args.only in (None, a)]
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        for name in args.scenarios:
            machine, code = Machine(), code_state()
            if name in commands.SCENARIOS:
                scenario = commands.SCENARIOS[name]
                by_app = report["commands"].setdefault(name, {})
                for kind in apps:
                    print(f"running {kind:<8} {scenario.label}", flush=True)
                    app = AppUnderTest(kind, scenario.workers, stands, workdir)
                    by_app[kind] = await commands.measure(app, stands, scenario, f"{kind}-{name}")
            elif name in surfaces.SURFACES:
                surface = surfaces.SURFACES[name]
                print(f"running bot      {surface.label}", flush=True)
                app = AppUnderTest("bot", 1, stands, workdir)
                report["surfaces"][name] = await surfaces.measure(app, stands, surface, name)
            elif name == "distribution":
                print(
                    f"running distribution vs single workspace: {args.rounds} interleaved rounds of steady + burst",
                    flush=True,
                )
                try:
                    report["distribution"] = await distribution.run(stands, workdir, args.rounds)
                except NoPostgres as exc:
                    print(f"skipped distribution: {exc}", flush=True)
                    continue
            else:
                print(f"running metrics cost: {args.rounds} interleaved rounds of burst + steady", flush=True)
                report["metrics_cost"] = await metrics_cost.run(stands, workdir, args.rounds, args.before_rev)
                mc = report["metrics_cost"]
                code = f"{mc['before_commit'][:7]} vs {mc['current_commit'][:7]} (worktrees)"
            if name != "metrics" and code_state() != code:
                code += " (CHANGED during the run)"
            report["runs"][name] = {
                "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "code": code,
                "machine": machine.done(),
            }
    finally:
        await stands.stop()
    print(f"app logs: {workdir}")


# -- report ------------------------------------------------------------------------------------------


def load_previous(latency: float, *, fresh: bool) -> dict[str, Any]:
    empty: dict[str, Any] = {
        "latency_s": latency,
        "cpus": os.cpu_count(),
        "commands": {},
        "surfaces": {},
        "metrics_cost": None,
        "distribution": None,
        "runs": {},
    }
    if fresh:
        return empty
    try:
        old = json.loads((RESULTS / "latest.json").read_text())
    except (OSError, ValueError):
        return empty
    if old.get("latency_s") != latency or "commands" not in old:
        return empty  # another BIK latency, or the old single-table format: not comparable
    return {**empty, **old}


def markdown(report: dict[str, Any]) -> str:
    lines = [f"BIK latency {report['latency_s'] * 1000:g} ms, {report['cpus']} CPUs", ""]
    checks: list[tuple[str, bool]] = []
    cmd = {name: report["commands"][name] for name in commands.SCENARIOS if name in report["commands"]}
    if cmd:
        lines += ["## Slash commands", "", commands.table(cmd), "", *commands.ratios(cmd), ""]
        checks += commands.targets(cmd)
    if report["surfaces"]:
        lines += ["## Shortcuts and unfurls", "", *surfaces.table(report["surfaces"])]
        checks += surfaces.targets(report["surfaces"])
    if report["metrics_cost"]:
        lines += ["## Metrics cost (command path)", "", *metrics_cost.table(report["metrics_cost"])]
        checks += metrics_cost.targets(report["metrics_cost"])
    if report.get("distribution"):
        lines += ["## Distribution mode (command path)", "", *distribution.table(report["distribution"])]
        checks += distribution.targets(report["distribution"])
    lines += ["## Targets", "", *[f"- {'PASS' if ok else 'MISS'} {text}" for text, ok in checks], ""]
    lines += [
        "## When, on what code, under what load",
        "",
        "Load average (1/5/15 min) before → after each scenario, and how busy the machine's CPUs were "
        "during it (everything on the machine, the bench included), and the share of one CPU the "
        "bench's own process (load generator and stand-ins) used.",
        "",
        "| scenario | run at | code | load before | load after | CPUs busy | bench process CPU |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ALL:
        if run := report["runs"].get(name):
            m = run["machine"]
            lines.append(
                f"| {name} | {run['at']} | {run['code']} | {'/'.join(map(str, m['load_before']))} "
                f"| {'/'.join(map(str, m['load_after']))} | {m['cpu_busy_pct']} % "
                f"| {m.get('bench_process_cpu_pct', '?')} % |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Load benchmark of the bot (and a quickstart-style baseline)."
    )
    parser.add_argument("--latency", type=float, default=0.25, help="BIK stand-in latency in seconds (0.25)")
    parser.add_argument("--only", choices=["bot", "baseline"], help="command scenarios: run one app only")
    parser.add_argument(
        "--scenarios", default=",".join(ALL), help=f"comma-separated, any of {','.join(ALL)} (default: all)"
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="metrics, distribution: interleaved rounds per arm (4)"
    )
    parser.add_argument(
        "--before-rev", default=metrics_cost.BEFORE_REV, help="metrics: the commit before the metrics work"
    )
    parser.add_argument("--fresh", action="store_true", help="drop the last run's figures of other scenarios")
    args = parser.parse_args()
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if unknown := [s for s in args.scenarios if s not in ALL]:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(ALL)}")

    report = load_previous(args.latency, fresh=args.fresh)
    uvloop.run(main_async(args, report))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2))
    text = markdown(report)
    (RESULTS / "latest.md").write_text(text)
    print()
    print(text)
    print(f"JSON: {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
