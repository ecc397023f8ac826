"""``python bench/profile_serve.py serve``: ``python -m bot serve`` with pyinstrument on call.

SIGUSR1 starts sampling the event loop's thread (every 1 ms); SIGUSR2 stops it and writes
``$BENCH_PROFILE_OUT.txt`` (the call tree) and ``$BENCH_PROFILE_OUT.pyisession`` (the samples, for
``pyinstrument --load``), so a driver profiles exactly its measured load, not start-up. One worker (``WEB_CONCURRENCY=1``): the
handlers live in this process. Used by :mod:`bench.profile_distribution`.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any


def main() -> int:
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        del sys.path[0]  # run as a script: this folder is no root of packages
    from pyinstrument import Profiler

    from bot.__main__ import main as bot_main

    out = Path(os.environ["BENCH_PROFILE_OUT"])
    profiler = Profiler(interval=0.001, async_mode="disabled")

    def start(signum: int, frame: Any) -> None:
        if not profiler.is_running:
            profiler.start()

    def stop(signum: int, frame: Any) -> None:
        if not profiler.is_running:
            return
        profiler.stop()
        out.with_suffix(".txt").write_text(profiler.output_text(unicode=True, show_all=False))
        if (session := profiler.last_session) is not None:
            session.save(str(out.with_suffix(".pyisession")))
        out.with_suffix(".done").write_text("")

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    return bot_main()


if __name__ == "__main__":
    sys.exit(main())
