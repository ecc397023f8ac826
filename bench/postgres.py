"""A PostgreSQL for the bench's distribution scenario: ``BENCH_DATABASE_URL`` when set (an existing
server and database; the bench only touches its own workspaces' rows there), else a throwaway cluster
started the way ``.ci/run`` starts one: ``initdb`` (as the ``postgres`` OS user when run as root: the
server refuses to run as root), ``pg_ctl`` on a free loopback port with durability off (nothing in it
outlives the run), a role with a password and a database of its own. The cluster is stopped and its
files removed when the scenario ends, however it ends (and at interpreter exit, should that come
first).
"""

from __future__ import annotations

import atexit
import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.harness import free_port

ROLE = "bik_bench"


class NoPostgres(RuntimeError):
    """No PostgreSQL binaries and no ``BENCH_DATABASE_URL``: the scenario is skipped."""


def find_bin() -> Path:
    """``BENCH_PG_BIN``, else the directory of the ``initdb`` on ``PATH``, else the newest
    ``/usr/lib/postgresql/*/bin`` (Debian keeps the server binaries off ``PATH``)."""
    if given := os.environ.get("BENCH_PG_BIN"):
        if not (Path(given) / "initdb").exists():
            raise NoPostgres(f"BENCH_PG_BIN={given} holds no initdb")
        return Path(given)
    if found := shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3].split(".")[0])
    )
    if not versions:
        raise NoPostgres(
            "no PostgreSQL binaries (initdb); install postgresql, set BENCH_PG_BIN, "
            "or point BENCH_DATABASE_URL at a server"
        )
    return Path(versions[-1]).parent


class Cluster:
    """``start()`` returns a ``postgresql+asyncpg://`` URL; ``stop()`` is safe to call more than once."""

    def __init__(self) -> None:
        self.bin = find_bin()
        self.dir: Path | None = None
        self.port = 0
        self.version = ""

    def _run(self, *argv: str) -> str:
        assert self.dir is not None
        cmd = [str(self.bin / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, cwd=self.dir, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.dir / "postgres.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")
        return done.stdout

    def start(self) -> str:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        atexit.register(self.stop)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        password = secrets.token_hex(16)
        data = str(self.dir / "data")
        self._run(
            "initdb",
            "-D",
            data,
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        )
        options = (
            f"-k {self.dir} -h 127.0.0.1 -p {self.port} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", data, "-l", str(self.dir / "postgres.log"), "-w", "-s", "-o", options, "start"
        )
        psql = ("psql", "-h", str(self.dir), "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-q")
        self._run(
            *psql,
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            f"CREATE ROLE {ROLE} LOGIN PASSWORD '{password}'",
            "-c",
            f"CREATE DATABASE {ROLE} OWNER {ROLE}",
        )
        self.version = self._run(*psql, "-At", "-c", "SHOW server_version").strip()
        return f"postgresql+asyncpg://{ROLE}:{password}@127.0.0.1:{self.port}/{ROLE}"

    def stop(self) -> None:
        if self.dir is None:
            return
        data = self.dir / "data"
        if (data / "postmaster.pid").exists():  # started (or half-started): stop it
            try:
                self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-s", "-w", "stop")
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                print(f"bench: stopping the throwaway PostgreSQL in {self.dir} failed: {exc}", flush=True)
                return  # its files stay, for whoever stops it
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
