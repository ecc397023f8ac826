"""Typed failures of a BIK lookup, one per row of the error table in SPEC section 4.

``kind`` is the audit log's outcome; ``admin_fix`` marks failures an operator must fix (logged as errors).
"""

from __future__ import annotations


class BikError(Exception):
    kind = "error"
    admin_fix = False

    def __init__(self, detail: str = "", *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(detail or self.kind)
        self.detail = detail
        self.status = status
        self.attempts = attempts


class NotFound(BikError):
    """406: no customer with that id."""

    kind = "not_found"


class Rejected(BikError):
    """400: BIK refused the query; ``detail`` is BIK's own message."""

    kind = "rejected"


class Unauthorized(BikError):
    """401: the bot's credentials were refused."""

    kind = "unauthorized"
    admin_fix = True


class WrongAddress(BikError):
    """404: the API path does not exist at BIK_API_BASE_URL."""

    kind = "wrong_address"
    admin_fix = True


class Unavailable(BikError):
    """5xx, 429 or a connection failure, after the retries ran out."""

    kind = "unavailable"


class TimedOut(BikError):
    """The whole lookup, retries included, went past BIK_TIMEOUT_SECONDS."""

    kind = "timeout"


class Unexpected(BikError):
    """Not JSON, or JSON of a shape we cannot read. ``detail`` never holds the body (PII)."""

    kind = "unexpected"


class NotConnected(BikError):
    """Distribution mode: this workspace has no BIK credentials yet (an admin connects them)."""

    kind = "not_connected"
    admin_fix = True
