"""The audit trail (SPEC section 8): one structured line per lookup, and per share or denial.

Only identifiers and outcomes: never names, phones, emails, addresses or tokens. The field set is
closed (:data:`FIELDS`), so a caller cannot slip customer data in by accident.
"""

from __future__ import annotations

from typing import Any

from bot.logs import get_logger

FIELDS = frozenset(
    {
        "action",  # command | share | addresses
        "team",
        "channel",
        "user",
        "query_kind",
        "query_id",
        "outcome",  # found | not_found | denied | invalid | rate_limited | help | <error kind>
        "reason",  # the access decision: allowed | channel_not_allowed | guest | ...
        "masked",  # the fields masked in what was shown
        "visibility",  # ephemeral | in_channel
        "bik_status",
        "latency_ms",
        "retries",
        "fallback",  # a bare digits id retried as a BIK id
        "queries",
    }
)


class Audit:
    def __init__(self, logger: Any = None) -> None:
        self._log = logger or get_logger("bik.audit")

    def record(self, **fields: Any) -> None:
        unknown = set(fields) - FIELDS
        if unknown:
            raise ValueError(f"not audit fields: {sorted(unknown)}")
        if isinstance(fields.get("masked"), frozenset | set):
            fields["masked"] = sorted(fields["masked"])
        self._log.info("lookup", **{k: v for k, v in fields.items() if v is not None})
