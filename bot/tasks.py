"""Background work that must finish before the process exits (graceful shutdown on SIGTERM)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from bot.logs import get_logger

log = get_logger("bik.tasks")
T = TypeVar("T")


class TaskTracker:
    """Holds a strong reference to every task it starts, and can wait for all of them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background_task_failed", task=task.get_name(), exc_info=task.exception())

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def drain(self, seconds: float) -> int:
        """Wait up to ``seconds`` for in-flight work; returns how many tasks were still running."""
        pending = set(self._tasks)
        if not pending:
            return 0
        log.info("draining", in_flight=len(pending), limit_s=seconds)
        _, still = await asyncio.wait(pending, timeout=seconds)
        for task in still:
            task.cancel()
        if still:
            log.error("drain_incomplete", abandoned=len(still))
        return len(still)
