"""``python -m bench.nometrics serve``: ``python -m bot serve`` with every metric call made a no-op.

For the metrics-cost scenario only: the same code as the bot, minus what ``bot.metrics`` does per
request (prometheus-client counters and histograms in multiprocess mode), so the difference from the
plain bot is the metrics alone. One worker: the patch lives in this process (``WEB_CONCURRENCY=1``
serves in it; worker processes would import the unpatched module).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any


class _NoGauge:
    @staticmethod
    def track_inprogress() -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()


def _nothing(self: object, *args: Any, **kwargs: Any) -> None:
    return None


def main() -> int:
    """Run as ``python -m bench.nometrics serve`` or as a script (``python <path> serve``) from another
    tree of the repository, with that tree's ``bot`` on ``PYTHONPATH``."""
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        del sys.path[0]  # run as a script: this folder is no root of packages
    from bot import metrics
    from bot.__main__ import main as bot_main

    for name in ("lookup", "bik_call", "bik_retry", "ack", "reply", "decision", "reload"):
        setattr(metrics.Metrics, name, _nothing)
    metrics.Metrics.in_flight = property(lambda self: _NoGauge())  # type: ignore[assignment,method-assign]
    return bot_main()


if __name__ == "__main__":
    sys.exit(main())
