"""The log scrubber with many secrets registered (distribution mode: every workspace's bot token and
BIK credentials): no registered value survives in a line, whatever surrounds it."""

from __future__ import annotations

import string
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

import bot.logs
from bot.logs import REDACTED, register_secrets, scrub_secrets

SECRET = st.text(string.ascii_letters + string.digits + "-_.+/=", min_size=6, max_size=40)
FILLER = st.text(string.printable, max_size=30)


@pytest.fixture(autouse=True)
def _own_log_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(bot.logs, "_secrets", [])
    monkeypatch.setattr(bot.logs, "_by_prefix", {})
    yield


@given(secrets=st.lists(SECRET, min_size=1, max_size=80, unique=True), data=st.data())
def test_no_registered_secret_survives_in_any_field(secrets: list[str], data: st.DataObject) -> None:
    bot.logs._secrets.clear()
    bot.logs._by_prefix.clear()
    register_secrets(secrets)
    shown = data.draw(st.lists(st.sampled_from(secrets), min_size=1, max_size=5))
    parts = [p for s in shown for p in (data.draw(FILLER), s)]
    line = {"event": "x", "error": "".join(parts), "nested": {"list": ["".join(reversed(parts))]}}
    out = scrub_secrets(None, "error", line)
    for secret in secrets:
        assert secret not in out["error"] and secret not in out["nested"]["list"][0]
    assert REDACTED in out["error"]


def test_many_secrets_take_the_indexed_path_and_leave_other_text_alone() -> None:
    register_secrets([f"xoxb-workspace-{n:04d}" for n in range(500)])
    out = scrub_secrets(None, "info", {"event": "lookup", "detail": "token xoxb-workspace-0420 refused"})
    assert out["detail"] == f"token {REDACTED} refused"
    assert scrub_secrets(None, "info", {"event": "lookup", "team": "T0420"})["team"] == "T0420"
