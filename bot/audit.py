"""The audit trail (SPEC section 8): one structured line per lookup, and per share or denial.

Only identifiers and outcomes: never names, phones, emails, addresses or tokens. The field set is
closed (:data:`FIELDS`), so a caller cannot slip customer data in by accident.

The one value people type is the query id, and a store may use phone numbers or emails as its
partner ids. So a ``query_id`` is always logged through :func:`bot.masking.mask_text` with phones
and emails masked, whatever the channel masks (``+919090909090`` -> ``+91******9090``), unless its
``query_kind`` is ``bik`` (BIK's own key, never contact data). Masked rather than hashed: phone
numbers are few enough that an unkeyed hash of one is reversed by trying them all, and a masked id
still tells a reader which lookup it was, with the time, user and channel next to it. What looks
like a phone is defined in :mod:`bot.masking`; a partner id of 7 or more digits is logged masked.
"""

from __future__ import annotations

from typing import Any

from bot.logs import get_logger
from bot.masking import CONTACTS, mask_text

FIELDS = frozenset(
    {
        "surface",  # command | message_shortcut | global_shortcut | unfurl | home | refresh | retry | share
        # | addresses (SPEC section 9)
        "policy_version",  # the short hash of the policy in force
        "workspace",  # distribution mode: the installation (T… or, org-wide, E…) the request was served for
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
        query_id = fields.get("query_id")
        if isinstance(query_id, str) and fields.get("query_kind") != "bik":
            fields["query_id"] = mask_text(query_id, CONTACTS)
        self._log.info("lookup", **{k: v for k, v in fields.items() if v is not None})
