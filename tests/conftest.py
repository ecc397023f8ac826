"""Every test starts from a scrubbed environment: no SLACK_*/BIK_*/DATABASE_* variables, no .env.
Any test can ask for a database: ``database_url``, ``migrated_database_url``, ``postgres_url``
(tests/fakes/databases.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

pytest_plugins = ("tests.fakes.databases",)

_PREFIXES = (
    "SLACK_",
    "BIK_",
    "DATABASE_",
    "METRICS_TOKEN",
    "REDIS_URL",
    "PORT",
    "WEB_CONCURRENCY",
    "LOG_LEVEL",
)


@pytest.fixture(autouse=True)
def _scrub_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    yield
