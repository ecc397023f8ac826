"""The bot as a real OS process, started the way the Procfile starts it (``python -m bot serve``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def stand_in_env(
    bik: Any, slack: Any, workdir: Path, *, policy: str = "[channels.CALLOWED]\nallow = true\n", **extra: str
) -> dict[str, str]:
    """The environment of a bot process wired to the BIK and Slack stand-ins, with a policy file."""
    from tests.fakes.botserver import BIK_TOKEN, BOT_TOKEN, SIGNING_SECRET

    (workdir / "access.toml").write_text(policy)
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "BIK_API_BASE_URL": bik.base_url,
        "BIK_API_TOKEN": BIK_TOKEN,
        "BIK_ACCESS_POLICY": str(workdir / "access.toml"),
        "SLACK_RESPONSE_URL_PREFIXES": slack.server.url + "/hooks/",
        **extra,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotProcess:
    def __init__(self, env: dict[str, str], *, cwd: Path | None = None) -> None:
        self.port = free_port()
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BIK_", "REDIS_URL"))}
        self.env = {**base, "PYTHONPATH": str(ROOT), "PORT": str(self.port), "LOG_LEVEL": "INFO", **env}
        self.cwd = cwd or Path(tempfile.mkdtemp())
        self.log_path = self.cwd / f"bot-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> BotProcess:
        """Start the process without waiting for HTTP (Socket Mode serves none)."""
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env=self.env,
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    def start(self, timeout: float = 60) -> BotProcess:
        """Start and wait until ``/healthz`` answers."""
        self.launch()
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bot exited at start:\n{self.logs()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.kill()  # never leave an unhealthy process listening behind a failed test
        raise RuntimeError(f"bot did not become healthy:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self, timeout: float = 40) -> int:
        """SIGTERM, as a platform does, and wait for the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
