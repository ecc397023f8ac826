"""Where the app's time goes in single-workspace and in distribution mode, under the same load: each
mode's ``python -m bot serve`` (one worker) run under pyinstrument (:mod:`bench.profile_serve`),
sampled only while the measured load runs, set up exactly as the ``distribution`` scenario sets it up
(two workspaces on PostgreSQL: ``BENCH_DATABASE_URL`` or a throwaway cluster).

    .venv/bin/python -m bench.profile_distribution [--load steady|burst|both] [--rounds 2]

Prints, per mode, the app's CPU per command (``/proc``) and the sampled time of the event loop's
thread per command by where it was spent (our code, each library, the standard library, idle), then
the functions whose time differs most between the modes. The call trees are kept as text and as
pyinstrument sessions (``pyinstrument --load FILE``) under ``/tmp/bench-profile-*/``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import sysconfig
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import uvloop

from bench import commands, distribution
from bench.harness import ROOT, Machine, Stands

WRAPPER = ROOT / "bench" / "profile_serve.py"
IDLE = {"run_until_complete", "run_forever", "run", "select", "_run_once", "serve", "main_loop"}
STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()


def where(file_path: str) -> str:
    """Our code (by top-level package), a library (by distribution folder), or the standard library
    (by module)."""
    path = Path(file_path)
    try:
        rel = path.resolve().relative_to(ROOT)
        if rel.parts[0] in ("bot", "handlers"):
            return f"ours: {rel.parts[0]}/{rel.parts[1] if len(rel.parts) > 2 else ''}".rstrip("/")
    except ValueError:
        pass
    parts = path.parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].split(".")[0].removesuffix(".py")
    try:
        rel = path.resolve().relative_to(STDLIB)
        return f"stdlib: {rel.parts[0].removesuffix('.py')}"
    except ValueError:
        return "other: " + (path.name or file_path)


TENANCY = ("tenants.py", "distribution.py", "workspaces.py", "credentials.py", "db.py")
"""Modules of ``bot/`` that only distribution mode runs."""


def walk(
    frame: Any,
    by_place: Counter[str],
    by_function: Counter[str],
    inclusive: Counter[str],
    tenancy: Counter[str],
    *,
    inside: bool = False,
) -> None:
    """Self time (pyinstrument keeps it in synthetic ``[self]`` children) by place and by function;
    inclusive time by function; and the inclusive time of the outermost calls into distribution
    mode's own modules (:data:`TENANCY`), each counted once."""
    if frame.is_synthetic:
        for child in frame.children:  # the dummy root of a multi-thread session
            walk(child, by_place, by_function, inclusive, tenancy, inside=inside)
        return
    if frame.file_path and frame.file_path != "<thread>":
        name = f"{frame.function} ({Path(frame.file_path).name}:{frame.line_no})"
        place = where(frame.file_path)
        if frame.function in IDLE and place.startswith(("uvloop", "stdlib: asyncio", "uvicorn")):
            place = "idle (event loop waiting)"
    else:
        name = place = frame.function  # a thread's root
    inclusive[name] += frame.time
    ours = frame.file_path is not None and Path(frame.file_path).parent.name == "bot"
    if not inside and ours and Path(frame.file_path).name in TENANCY:
        tenancy[name] += frame.time
        inside = True
    if (own := frame.total_self_time) > 0:
        by_place[place] += own
        by_function[name] += own
    for child in frame.children:
        walk(child, by_place, by_function, inclusive, tenancy, inside=inside)


def read_session(path: Path) -> dict[str, Counter[str]]:
    from pyinstrument.session import Session

    session = Session.load(str(path))
    root = session.root_frame(trim_stem=False)
    found: dict[str, Counter[str]] = {
        k: Counter() for k in ("by_place", "by_function", "inclusive", "tenancy")
    }
    if root is not None:
        walk(root, found["by_place"], found["by_function"], found["inclusive"], found["tenancy"])
    return found


async def profile_one(
    arm: str, stands: Stands, workdir: Path, db: distribution.Database, load: str, tag: str
) -> dict[str, Any]:
    out = workdir / f"profile-{tag}"
    app = distribution.make_app(
        arm,
        stands,
        workdir,
        db.url,
        db.credentials_key,
        argv=[sys.executable, str(WRAPPER), "serve"],
        env={"BENCH_PROFILE_OUT": str(out)},
    )
    teams = distribution.TEAMS if arm == "distribution" else ("T1",)
    await asyncio.to_thread(app.start)
    try:
        await commands.run_load(app.url, stands, commands.Scenario("warm", 20, 40, 1), f"warm-{tag}", teams)
        assert app.proc is not None
        os.kill(app.proc.pid, signal.SIGUSR1)
        await asyncio.sleep(0.2)
        cpu, machine, sent = app.cpu_seconds(), Machine(), 0
        for name in ("steady", "burst") if load == "both" else (load,):
            scenario = commands.SCENARIOS[name]
            await commands.run_load(app.url, stands, scenario, f"{tag}-{name}", teams)
            sent += scenario.commands
        cpu = app.cpu_seconds() - cpu
        os.kill(app.proc.pid, signal.SIGUSR2)
        done = out.with_suffix(".done")
        for _ in range(600):  # the profile is written by the app: up to 2 minutes
            if done.exists():
                break
            await asyncio.sleep(0.2)
        busy = machine.done()["cpu_busy_pct"]
    finally:
        await asyncio.to_thread(app.stop)
    found = read_session(out.with_suffix(".pyisession"))
    return {
        "arm": arm,
        "commands": sent,
        "cpu_ms_per_command": 1000 * cpu / sent,
        "busy_pct": busy,
        **{key: {k: 1000 * v / sent for k, v in counter.items()} for key, counter in found.items()},
        "tree": str(out.with_suffix(".txt")),
    }


def merged(results: list[dict[str, Any]], key: str) -> dict[str, float]:
    """Median over runs of each entry (0 where a run has none)."""
    names = {n for r in results for n in r[key]}
    return {n: statistics.median(r[key].get(n, 0.0) for r in results) for n in names}


def report(by_arm: dict[str, list[dict[str, Any]]], top: int) -> str:
    single, dist = by_arm["single"], by_arm["distribution"]
    lines = ["runs (CPU ms/command from /proc; machine's CPUs busy):"]
    for arm, rs in by_arm.items():
        cells = "; ".join(f"{r['cpu_ms_per_command']:.2f} ms [{r['busy_pct']} %] {r['tree']}" for r in rs)
        lines.append(f"  {arm}: {cells}")
    s_cpu = statistics.median(r["cpu_ms_per_command"] for r in single)
    d_cpu = statistics.median(r["cpu_ms_per_command"] for r in dist)
    lines += [
        f"app CPU per command (median): single {s_cpu:.2f} ms, distribution {d_cpu:.2f} ms "
        f"({100 * (d_cpu - s_cpu) / s_cpu:+.1f} %)",
        "",
        "event loop thread, sampled ms per command, by where (median of runs):",
        f"  {'where':<44} {'single':>8} {'distr.':>8} {'diff':>8}",
    ]
    sp, dp = merged(single, "by_place"), merged(dist, "by_place")
    places = sorted(sp.keys() | dp.keys(), key=lambda k: -max(sp.get(k, 0), dp.get(k, 0)))
    for place in places:
        a, b = sp.get(place, 0.0), dp.get(place, 0.0)
        if max(a, b) >= 0.01:
            lines.append(f"  {place[:44]:<44} {a:8.3f} {b:8.3f} {b - a:+8.3f}")
    busy_s = sum(v for k, v in sp.items() if not k.startswith("idle"))
    busy_d = sum(v for k, v in dp.items() if not k.startswith("idle"))
    lines.append(f"  {'(all but idle)':<44} {busy_s:8.3f} {busy_d:8.3f} {busy_d - busy_s:+8.3f}")
    tenancy = merged(dist, "tenancy")
    lines += [
        "",
        "distribution mode's own modules (bot/" + ", bot/".join(TENANCY) + "): outermost calls, "
        f"inclusive ms per command (all: {sum(tenancy.values()):.3f}):",
        *[f"  {v:7.3f}  {k[:110]}" for k, v in sorted(tenancy.items(), key=lambda kv: -kv[1]) if v >= 0.001],
    ]
    for key, title in (("by_function", "self time"), ("inclusive", "inclusive time")):
        sf, df = merged(single, key), merged(dist, key)
        diff = sorted(sf.keys() | df.keys(), key=lambda k: -abs(df.get(k, 0) - sf.get(k, 0)))
        lines += ["", f"functions whose {title} differs most, ms per command (single, distribution, diff):"]
        for name in diff[:top]:
            a, b = sf.get(name, 0.0), df.get(name, 0.0)
            lines.append(f"  {a:7.3f} {b:7.3f} {b - a:+7.3f}  {name[:110]}")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> None:
    stands = Stands(args.latency)
    await stands.start()
    workdir = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    by_arm: dict[str, list[dict[str, Any]]] = {arm: [] for arm in distribution.ARMS}
    try:
        async with distribution.database(stands) as db:
            for r in range(args.rounds):
                order = distribution.ARMS if r % 2 == 0 else distribution.ARMS[::-1]
                for arm in order:
                    print(f"profiling {arm} (round {r + 1}/{args.rounds}, {args.load})", flush=True)
                    by_arm[arm].append(await profile_one(arm, stands, workdir, db, args.load, f"{arm}-{r}"))
    finally:
        await stands.stop()
    print()
    print(report(by_arm, args.top))
    print(f"\nlogs, call trees and sessions: {workdir}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_distribution", description=__doc__)
    parser.add_argument("--load", choices=["steady", "burst", "both"], default="steady")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.25)
    args = parser.parse_args()
    uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
