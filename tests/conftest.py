"""Every test starts from a scrubbed environment: no SLACK_*/BIK_* variables, no .env."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

_PREFIXES = ("SLACK_", "BIK_", "REDIS_URL", "PORT", "WEB_CONCURRENCY", "LOG_LEVEL")


@pytest.fixture(autouse=True)
def _scrub_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    yield
