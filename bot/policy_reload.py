"""Policy changes without a restart (SPEC section 10): on SIGHUP and when the file changes.

Each worker process reloads on its own: ``python -m bot serve`` passes SIGHUP on to every worker, and
each one watches the file every ``BIK_POLICY_RELOAD_SECONDS``. A valid file replaces the policy in
one assignment, so a request sees either the old policy or the new one, never a mix: the lookup use
case reads ``service.policy`` once per request and carries it to the end. An invalid file — or a
file that has gone missing, which during a deploy is far likelier a mistake than an intent to deny
everything — leaves the old policy in force, with an error naming the file and the key. A file is
read once it has stayed unchanged for :data:`SETTLE` seconds, and again if it changed while read.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Protocol

from bot.access import Policy, PolicyError
from bot.logs import get_logger
from bot.metrics import METRICS

log = get_logger("bik.policy")

SETTLE = 1.0
"""Seconds a changed file must stay unchanged before it is read (write it with an atomic rename to
have it read at the next check)."""


class HoldsPolicy(Protocol):
    policy: Policy


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class PolicyReloader:
    def __init__(self, holder: HoldsPolicy, path: Path, *, interval: float) -> None:
        self._holder = holder
        self._path = path
        self._interval = interval
        self._seen = _signature(path)

    def reload(self, trigger: str) -> str:
        """Read the file again; returns ``ok``, ``unchanged`` or ``error`` (also counted). A file that
        changed while it was read (a deploy still writing it) is read again on the next check."""
        before = _signature(self._path)
        self._seen = before
        old = self._holder.policy
        try:
            if before is None:
                raise PolicyError(f"access policy {self._path}: no such file")
            new = Policy.load(self._path)
            if _signature(self._path) != before:
                self._seen = None  # read it again next time
                raise PolicyError(f"access policy {self._path}: changed while it was read")
        except PolicyError as exc:
            log.error("policy_reload_failed", trigger=trigger, error=str(exc), kept_version=old.version)
            METRICS.reload("error")
            return "error"
        if new.version == old.version and new.loaded == old.loaded:
            METRICS.reload("unchanged")
            return "unchanged"
        self._holder.policy = new
        log.info(
            "policy_reloaded",
            trigger=trigger,
            policy=str(self._path),
            version=new.version,
            previous_version=old.version,
            allowed_channels=new.allowed_channel_count,
        )
        METRICS.reload("ok")
        return "ok"

    async def watch(self) -> None:
        """Check the file's signature (mtime, size, inode) every interval; reload when it changes."""
        if self._interval <= 0:
            return
        while True:
            await asyncio.sleep(self._interval)
            current = _signature(self._path)
            # Wait until the file has settled (unchanged for SETTLE seconds): a deploy that writes the
            # file in place, not by an atomic rename, is not read half-written.
            if current != self._seen and (current is None or time.time() - current[0] / 1e9 >= SETTLE):
                self.reload("file_changed")
