"""Command text -> queries, or a precise error (SPEC section 2). Pure: no I/O.

Grammar::

    /bik-customer help | (empty)
    /bik-customer <query> [<query> ...]        at most 5 distinct queries
    query := partner:<id> | bik:<digits> | <id>

Slack sends mentions, channels and links as ``<...>`` markup and escapes a typed ``&``, ``<`` and ``>``
as entities. Markup is therefore recognised *before* unescaping (a typed ``<`` is data, ``<@U1>`` is
a mention) and the remaining text is unescaped before it is split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_QUERIES = 5
MAX_ID_LENGTH = 128
MAX_TEXT_CHARS = 1000
"""Five of the longest queries (``partner:`` + 128 characters) with room for spaces: anything longer
is refused before any other work is spent on it (access checks and the rate limit included)."""
MAX_BIK_DIGITS = 19
HELP_WORDS = frozenset({"help", "-h", "--help", "?", "usage"})

USAGE = (
    "`/bik-customer &lt;id&gt;` looks up a customer by the store's own id (partner id); "
    "if nothing matches and the id is all digits, it is tried as a BIK id.\n"
    "`/bik-customer partner:&lt;id&gt;` looks up by partner id only.\n"
    "`/bik-customer bik:&lt;digits&gt;` looks up by BIK id.\n"
    "Up to 5 ids at once, separated by spaces: `/bik-customer abcd-122345 bik:5482636`"
)
"""Slack mrkdwn: ``<`` and ``>`` are escaped, or Slack would read ``<id>`` as a link."""

_MARKUP = re.compile(r"<([^<>]*)>")
_DIGITS = re.compile(r"[0-9]+")


class Kind(StrEnum):
    PARTNER = "partner"
    BIK = "bik"

    @property
    def label(self) -> str:
        return "partner id" if self is Kind.PARTNER else "BIK id"


@dataclass(frozen=True, slots=True)
class Query:
    kind: Kind
    value: str
    digits_fallback: bool = False
    """A bare id made of digits: if BIK finds no such partner id, try it once as a BIK id."""

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.value}"

    def as_bik(self) -> Query:
        return Query(Kind.BIK, self.value)


@dataclass(frozen=True, slots=True)
class HelpRequest:
    pass


@dataclass(frozen=True, slots=True)
class Lookup:
    queries: tuple[Query, ...]


Command = HelpRequest | Lookup


class QueryError(ValueError):
    """Input that is not a valid command. ``message`` is safe to show (Slack mrkdwn, escaped)."""

    def __init__(self, message: str, *, bad: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.bad = bad


def unescape_slack(text: str) -> str:
    """Undo Slack's escaping of ``&``, ``<``, ``>`` (``&amp;`` last, so ``&amp;lt;`` stays ``&lt;``)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_command(text: str | None) -> Command:
    """Parse the text after ``/bik-customer``. Raises only :class:`QueryError`.

    Linear in the text, which is bounded first: a flood of distinct ids costs one pass, not a
    comparison of every id with every other."""
    raw = (text or "").strip()
    if len(raw) > MAX_TEXT_CHARS:
        raise QueryError(
            f"That's {len(raw):,} characters; look up at most {MAX_QUERIES} ids at a time, "
            "separated by spaces."
        )
    markup = _MARKUP.search(raw)
    if markup is not None:
        raise QueryError(
            f"{describe_markup(markup.group(1))}: give a partner id or a BIK id.", bad=markup.group(0)
        )
    tokens = unescape_slack(raw).split()
    if not tokens or (len(tokens) == 1 and tokens[0].lower() in HELP_WORDS):
        return HelpRequest()

    queries: dict[tuple[Kind, str], Query] = {}
    for token in tokens:
        query = parse_query(token)
        queries.setdefault((query.kind, query.value), query)
    if len(queries) > MAX_QUERIES:
        raise QueryError(f"That's {len(queries)} ids; look up at most {MAX_QUERIES} at a time.")
    return Lookup(tuple(queries.values()))


def parse_query(token: str) -> Query:
    prefix, sep, rest = token.partition(":")
    kind = prefix.lower() if sep else ""
    if kind == "bik":
        return Query(Kind.BIK, _bik_id(rest, token))
    if kind == "partner":
        return Query(Kind.PARTNER, _partner_id(rest, token))
    value = _partner_id(token, token)
    return Query(Kind.PARTNER, value, digits_fallback=_is_bik_id(value))


def _partner_id(value: str, token: str) -> str:
    if not value:
        raise QueryError(f"{_quote(token)} has no id after the colon.", bad=token)
    if len(value) > MAX_ID_LENGTH:
        raise QueryError(
            f"{_quote(token[:24] + '…')} is {len(value)} characters long; "
            f"a partner id has at most {MAX_ID_LENGTH}.",
            bad=token,
        )
    if not value.isprintable():
        raise QueryError(
            f"{_quote(token)} contains invisible or control characters; type the id again.", bad=token
        )
    return value


def _bik_id(value: str, token: str) -> str:
    if not _is_bik_id(value):
        raise QueryError(
            f"{_quote(token)} isn't a BIK id: use 1 to {MAX_BIK_DIGITS} digits, e.g. `bik:5482636`.",
            bad=token,
        )
    return value.lstrip("0")


def _is_bik_id(value: str) -> bool:
    return _DIGITS.fullmatch(value) is not None and len(value) <= MAX_BIK_DIGITS and int(value) > 0


def describe_markup(inner: str) -> str:
    """Name Slack markup (the text between ``<`` and ``>``) as plain text that cannot ping or link:
    ``<@U123|bob>`` is the mention `@bob`, ``<@U123>`` the mention `U123`, a link is its URL."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return f"{_quote('@' + label if label else target[1:])} is a mention and can't be looked up"
    if target.startswith("#"):
        return f"{_quote('#' + label if label else target[1:])} is a channel and can't be looked up"
    if target.startswith("!"):
        special = target[1:].split("^", 1)
        name = label or ("@" + special[0] if special[0] in ("here", "channel", "everyone") else special[-1])
        return f"{_quote(name)} is a special mention and can't be looked up"
    return f"{_quote(target)} is a link and can't be looked up"


def _quote(token: str) -> str:
    """Show user input back inside mrkdwn safely."""
    shown = token if len(token) <= 60 else token[:59] + "…"
    # Control and bidi characters are echoed as visible escapes: they can't reorder or hide the text.
    shown = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in shown)
    shown = shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"`{shown}`" if "`" not in shown else f"“{shown}”"
