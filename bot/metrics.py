"""The one registry: every metric the bot exports is defined here (SPEC section 10), and nothing else
names a metric.

**Several worker processes.** ``python -m bot serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh
directory before any worker starts (``bot.__main__``); prometheus-client then keeps
every worker's values in memory-mapped files there, and ``GET /metrics`` on any worker sums them all
(:class:`~prometheus_client.multiprocess.MultiProcessCollector`). A worker that exits leaves its file
behind, so counters never go backwards; its live gauge (lookups in flight) is dropped when it stops.
Without the variable (tests in one process, ``preview``) the values live in this process only.

**Bounded labels.** Every label value goes through :func:`_bounded`: a value outside its known set is
counted as ``other``. No user, channel, team or customer id is ever a label.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

SURFACES = frozenset(
    {
        "command",
        "message_shortcut",
        "global_shortcut",
        "unfurl",
        "home",
        "refresh",
        "retry",
        "share",
        "addresses",
    }
)
OUTCOMES = frozenset(
    {
        "found",
        "not_found",
        "denied",
        "invalid",
        "rate_limited",
        "rejected",
        "unauthorized",
        "wrong_address",
        "unavailable",
        "timeout",
        "unexpected",
        "error",
        "shared",
        "share_undelivered",
    }
)
ACK_KINDS = frozenset({"command", "action", "shortcut", "view", "event"})
REPLY_PATHS = frozenset({"ack", "response_url", "views", "unfurl"})
RESULTS = frozenset({"ok", "failed"})
DECISIONS = frozenset({"allowed", "denied"})
REASONS = frozenset(
    {
        "allowed",
        "channel_not_allowed",
        "no_policy",
        "guest",
        "user_not_allowed",
        "slack_unavailable",
        "incomplete_request",
        "external_user",
        "rate_limited",
        "invalid",
        "share_not_allowed",
    }
)
RELOAD_RESULTS = frozenset({"ok", "unchanged", "error"})

# Ack latency is judged against Slack's 3 s deadline; BIK's against its 15 s bound.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0)
BIK_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)


def _bounded(value: str | None, allowed: frozenset[str]) -> str:
    return value if value in allowed else "other"


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self._lookups = Counter(
            "bik_lookups",
            "Lookups and refusals, per surface and outcome.",
            ["surface", "outcome"],
            registry=r,
        )
        self._bik_duration = Histogram(
            "bik_api_request_duration_seconds",
            "One BIK lookup call, retries included, by outcome.",
            ["outcome"],
            buckets=BIK_BUCKETS,
            registry=r,
        )
        self._bik_retries = Counter("bik_api_retries", "BIK requests retried after a failure.", registry=r)
        self._ack = Histogram(
            "slack_ack_duration_seconds",
            "From a Slack request's arrival to its acknowledgement, by kind.",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self._replies = Counter(
            "slack_replies", "Replies delivered to Slack, by path and result.", ["path", "result"], registry=r
        )
        self._decisions = Counter(
            "bik_policy_decisions",
            "Access decisions, by decision and reason.",
            ["decision", "reason"],
            registry=r,
        )
        self._in_flight = Gauge(
            "bik_lookups_in_flight", "BIK lookups under way.", multiprocess_mode="livesum", registry=r
        )
        self._reloads = Counter("bik_policy_reloads", "Policy reloads, by result.", ["result"], registry=r)
        self._start_at_zero()

    def _start_at_zero(self) -> None:
        """The series alerts and dashboards divide by exist from the start, at 0 (a family without
        samples is left out of a scrape, and ``rate()`` of a missing series is no alert)."""
        for outcome in ("found", "not_found", "denied", "unavailable", "timeout", "unexpected"):
            self._lookups.labels("command", outcome)
            self._bik_duration.labels(outcome)
        for kind in ACK_KINDS:
            self._ack.labels(kind)
        for path in REPLY_PATHS:
            for result in RESULTS:
                self._replies.labels(path, result)
        for result in RELOAD_RESULTS:
            self._reloads.labels(result)
        self._decisions.labels("allowed", "allowed")
        self._decisions.labels("denied", "channel_not_allowed")

    # -- recording ---------------------------------------------------------------------------------

    def lookup(self, surface: str, outcome: str) -> None:
        self._lookups.labels(_bounded(surface, SURFACES), _bounded(outcome, OUTCOMES)).inc()

    def bik_call(self, outcome: str, seconds: float) -> None:
        self._bik_duration.labels(_bounded(outcome, OUTCOMES)).observe(seconds)

    def bik_retry(self) -> None:
        self._bik_retries.inc()

    def ack(self, kind: str, seconds: float) -> None:
        self._ack.labels(_bounded(kind, ACK_KINDS)).observe(seconds)

    def reply(self, path: str, ok: bool) -> None:
        self._replies.labels(_bounded(path, REPLY_PATHS), "ok" if ok else "failed").inc()

    def decision(self, allowed: bool, reason: str) -> None:
        self._decisions.labels("allowed" if allowed else "denied", _bounded(reason, REASONS)).inc()

    def reload(self, result: str) -> None:
        self._reloads.labels(_bounded(result, RELOAD_RESULTS)).inc()

    @property
    def in_flight(self) -> Gauge:
        """``with metrics.in_flight.track_inprogress(): …``"""
        return self._in_flight

    # -- exposition --------------------------------------------------------------------------------

    def exposition(self) -> tuple[bytes, str]:
        """The text format: every worker's values summed in multiprocess mode, else this process's."""
        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def worker_stopped() -> None:
    """A worker's live gauges leave the sum when it stops (counters stay)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


METRICS = Metrics()
"""The process's metrics. Created at import: in a worker, after ``PROMETHEUS_MULTIPROC_DIR`` is set."""
