"""Customer ids in a Slack message (SPEC 9.1, the message shortcut "Look up BIK customer"). Pure: no I/O.

What is found, in order of appearance (the message's ``text`` first, then its blocks, depth first), duplicates
dropped, at most :data:`MAX_FOUND` (the rest is only counted, in :attr:`Found.more`):

- ``partner:<id>`` and ``bik:<digits>`` tokens, parsed and validated by the command's grammar
  (:func:`bot.query.parse_query`); an invalid token is skipped, it is not an error;
- links that match ``BIK_DASHBOARD_URL`` (:func:`dashboard_link_pattern`): their ``{bik_id}`` as a BIK id;
- when ``BIK_ID_PATTERN`` is set, tokens that match it as a whole (``fullmatch``), as partner ids.

Running text is split into tokens at whitespace and at invisible characters (anything ``str.isprintable``
rejects: the grammar refuses them in an id anyway). From each token's end, ``. , ; : ! ? )`` and quotes
are dropped; from its start, ``(`` and quotes; and mrkdwn's ``*bold*``, ``_italic_``, ``~strike~`` and
```code``` markers when they wrap the whole token (user messages' ``text`` carries them).

Slack markup: message ``text`` and ``mrkdwn`` text objects carry mentions, channels and links as ``<...>``
and escape a typed ``&``, ``<``, ``>``. As in :mod:`bot.query`, markup is recognised before the rest is
unescaped. Mentions (``<@U1>``), channels and special mentions are never ids; a link's URL is checked against
the dashboard template and its label is read as running text (unless the link is a dashboard link: its label
names that same customer). Rich text ``text`` and ``link`` elements and ``plain_text`` objects carry no
markup; their entities are unescaped defensively.

Bounds (all the work is linear in what is kept):

- ``text``: the first :data:`MAX_TEXT_CHARS` characters (Slack's own limit for a message's text);
  strings in blocks: :data:`MAX_BLOCKS_CHARS` characters in all. A token cut by a bound is dropped, not
  read short.
- blocks: :data:`MAX_BLOCK_DEPTH` levels of nesting and :data:`MAX_BLOCK_NODES` values (list items and
  dict entries) in all; deeper or further is ignored. Link URLs count towards the characters too. Any JSON
  shape is accepted: only ``"text"`` and ``"url"`` strings are read; anything else (user ids, emoji names,
  ``block_id``, a button's ``value``) is not text a person reads as an id.
- tokens longer than :data:`MAX_TOKEN_CHARS` and URLs longer than :data:`MAX_URL_CHARS` are skipped.
- ``BIK_ID_PATTERN`` is the operator's regex, the message is anyone's text: it is applied only with
  ``fullmatch`` to single tokens of at most :data:`~bot.query.MAX_ID_LENGTH` characters, never to the
  message as a whole, so a pattern's cost is that of a 128-character string per token. This bounds the work
  for any pattern whose cost is polynomial in its input; it cannot tame a pattern that backtracks
  exponentially (nested quantifiers like ``(a+)+``), which is the configuration's job to refuse.
"""

from __future__ import annotations

import contextlib
import re
import string
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

from bot.query import (
    MAX_BIK_DIGITS,
    MAX_ID_LENGTH,
    MAX_QUERIES,
    Query,
    QueryError,
    parse_query,
    unescape_slack,
)

MAX_FOUND = MAX_QUERIES
MAX_TEXT_CHARS = 40_000
MAX_BLOCKS_CHARS = 40_000
MAX_BLOCK_DEPTH = 16
"""A rich text list in a message is 8 levels deep (blocks, block, elements, list, elements, section, ...)."""
MAX_BLOCK_NODES = 20_000
"""Values looked at (list items and dict entries) in all; Slack allows 50 blocks in a message."""
MAX_URL_CHARS = 3_000
"""Slack's limit for a link's URL in Block Kit."""
MAX_TOKEN_CHARS = MAX_URL_CHARS
"""No longer token can be any form of id: a ``partner:`` id has at most 128 characters, a link 3,000."""

_QUOTES = "'\"‘’“”«»„‚"
_TRAILING = frozenset(".,;:!?)" + _QUOTES)
_LEADING = frozenset("(" + _QUOTES)
_WRAPPERS = frozenset("*_~`")
_EXPLICIT = ("partner:", "bik:")
_RAW_TYPES = frozenset({"plain_text", "text", "link"})
"""Text without Slack markup: plain_text objects and rich text ``text`` and ``link`` elements."""

_MARKUP = re.compile(r"<([^<>]*)>")
_ASCII_INVISIBLE = re.compile(r"[\x00-\x1f\x7f]")
_ORIGIN = re.compile(r"(https?)://([^/?#]*)", re.IGNORECASE)
_BIK_ID_GROUP = "bik_id"


@dataclass(frozen=True, slots=True)
class Found:
    queries: tuple[Query, ...]
    """The first :data:`MAX_FOUND` distinct ids, in order of appearance."""
    more: int = 0
    """How many more distinct ids the message holds (not looked up)."""


def find_ids(
    text: object,
    blocks: object,
    *,
    dashboard_url: str | None = None,
    id_pattern: re.Pattern[str] | None = None,
) -> Found:
    """The ids in a message: its ``text`` (Slack mrkdwn, escaped) and its ``blocks`` (any JSON).

    ``dashboard_url`` is ``BIK_DASHBOARD_URL`` (a template with ``{bik_id}``), ``id_pattern`` the compiled
    ``BIK_ID_PATTERN``; either may be None. Never raises on the message's content."""
    finder = _Finder(dashboard_link_pattern(dashboard_url), id_pattern)
    if isinstance(text, str):
        finder.formatted(_within(text, MAX_TEXT_CHARS))
    finder.walk(blocks)
    found = tuple(finder.found)
    return Found(found[:MAX_FOUND], max(0, len(found) - MAX_FOUND))


@lru_cache(maxsize=16)
def dashboard_link_pattern(template: str | None) -> re.Pattern[str] | None:
    """A regex for the links ``template`` (``BIK_DASHBOARD_URL``) makes; group ``bik_id`` is the id.

    Everything but ``{bik_id}`` is literal (``{{``/``}}`` are a literal brace, as for ``str.format``);
    ``{bik_id}`` is 1 to 19 digits. Use with ``fullmatch``. Also accepted, as they open the same page:
    ``http`` for ``https`` and the other way round, the host in any case, and anything after the id from a
    ``/``, ``?`` or ``#`` on (``…/customers/42/orders?tab=1``), whatever the template has there.
    None when there is no template or it is not one (no ``{bik_id}``, another field, a format spec)."""
    if not template or len(template) > MAX_URL_CHARS:
        return None
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return None
    items: list[str | None] = []  # literals, and None for each {bik_id}
    for literal, field, spec, conversion in parsed:
        items.append(literal)
        if field is None:
            continue
        if field != _BIK_ID_GROUP or spec or conversion:
            return None
        items.append(None)
    if None not in items:
        return None
    last = len(items) - 1 - items[::-1].index(None)
    tail = "".join(item for item in items[last + 1 :] if item is not None)
    parts: list[str] = []
    seen_id = False
    for index, item in enumerate(items[: last + 1]):
        if item is None:
            parts.append(r"(?P=bik_id)" if seen_id else rf"(?P<bik_id>[0-9]{{1,{MAX_BIK_DIGITS}}})")
            seen_id = True
        elif index == 0 and (origin := _ORIGIN.match(item)) is not None:
            parts.append(rf"(?i:https?://{re.escape(origin.group(2))})")
            parts.append(re.escape(item[origin.end() :]))
        else:
            parts.append(re.escape(item))
    if tail and tail[0] not in "/?#":
        parts.append(re.escape(tail))
    parts.append(r"(?:[/?#]\S*)?")
    return re.compile("".join(parts))


def bik_id_from_url(url: str, template: str | None) -> str | None:
    """The BIK id in a dashboard link (``template`` is ``BIK_DASHBOARD_URL``), normalised as the
    command's ``bik:`` (no leading zeros), or None if ``url`` is not such a link or the id is not valid."""
    pattern = dashboard_link_pattern(template)
    return None if pattern is None else _bik_id_in(pattern, url)


def _bik_id_in(pattern: re.Pattern[str], url: object) -> str | None:
    if not isinstance(url, str) or len(url) > MAX_URL_CHARS:
        return None
    match = pattern.fullmatch(url)
    if match is None:
        return None
    try:
        return parse_query("bik:" + match.group(_BIK_ID_GROUP)).value
    except QueryError:  # bik id 0
        return None


class _Finder:
    __slots__ = ("_blocks_budget", "_link", "_pattern", "found")

    def __init__(self, link: re.Pattern[str] | None, pattern: re.Pattern[str] | None) -> None:
        self._link = link
        self._pattern = pattern
        self._blocks_budget = MAX_BLOCKS_CHARS
        self.found: dict[Query, None] = {}  # insertion order: order of appearance

    def _add(self, query: Query) -> None:
        self.found.setdefault(query)

    def _url(self, url: str) -> bool:
        """Add a dashboard link's id; True if ``url`` is one."""
        if self._link is None:
            return False
        bik_id = _bik_id_in(self._link, url)
        if bik_id is None:
            return False
        self._add(parse_query("bik:" + bik_id))
        return True

    def formatted(self, text: str) -> None:
        """Slack mrkdwn: ``<...>`` markup, entities for ``&``, ``<``, ``>``."""
        start = 0
        for markup in _MARKUP.finditer(text):
            self.running(unescape_slack(text[start : markup.start()]))
            target, _, label = markup.group(1).partition("|")
            if not target.startswith(("@", "#", "!")) and not self._url(unescape_slack(target)) and label:
                self.running(unescape_slack(label))
            start = markup.end()
        self.running(unescape_slack(text[start:]))

    def running(self, text: str) -> None:
        if text.isascii():
            text = _ASCII_INVISIBLE.sub(" ", text)
        elif not text.isprintable():
            text = "".join(char if char.isprintable() else " " for char in text)
        for token in text.split():
            if len(token) <= MAX_TOKEN_CHARS:
                self._token(_clean(token))

    def _token(self, token: str) -> None:
        if not token:
            return
        if token[:8].lower().startswith(_EXPLICIT):
            with contextlib.suppress(QueryError):
                self._add(parse_query(token))
            return
        if self._url(token):
            return
        pattern = self._pattern
        if pattern is not None and len(token) <= MAX_ID_LENGTH and pattern.fullmatch(token) is not None:
            with contextlib.suppress(QueryError):
                self._add(parse_query("partner:" + token))

    def walk(self, blocks: object) -> None:
        """Depth first, in the order of the JSON: a dict's own ``url`` and ``text`` strings, then its
        dicts and lists."""
        stack: list[tuple[object, int]] = [(blocks, 0)]
        visited = 0
        while stack and visited < MAX_BLOCK_NODES and self._blocks_budget > 0:
            node, depth = stack.pop()
            if depth >= MAX_BLOCK_DEPTH:
                continue
            room = MAX_BLOCK_NODES - visited
            children: list[object] = []
            if isinstance(node, dict):
                kind = node.get("type")
                url = node.get("url")
                linked = isinstance(url, str) and self._link_url(url)
                raw = isinstance(kind, str) and kind in _RAW_TYPES
                for key, value in islice(node.items(), room):
                    visited += 1
                    if isinstance(value, dict | list | tuple):
                        children.append(value)
                    elif key == "text" and isinstance(value, str) and not linked:
                        self._text(value, raw=raw)
            elif isinstance(node, list | tuple):
                children = list(node[:room])
                visited += len(children)
            stack.extend((child, depth + 1) for child in reversed(children))

    def _link_url(self, url: str) -> bool:
        self._blocks_budget -= min(len(url), MAX_URL_CHARS)
        return len(url) <= MAX_URL_CHARS and self._url(unescape_slack(url))

    def _text(self, text: str, *, raw: bool) -> None:
        kept = _within(text, self._blocks_budget)
        self._blocks_budget -= len(kept)
        if raw:
            self.running(unescape_slack(kept))
        else:
            self.formatted(kept)


def _within(text: str, budget: int) -> str:
    """At most ``budget`` characters of ``text``, without a token cut in two."""
    if len(text) <= budget:
        return text
    if budget <= 0:
        return ""
    cut = text[:budget]
    if text[len(cut)].isspace() or cut[-1:].isspace():
        return cut
    head = cut.rsplit(None, 1)
    return head[0] if len(head) == 2 else ""


def _clean(token: str) -> str:
    """Drop trailing punctuation and quotes, leading ``(`` and quotes, and wrapping mrkdwn markers."""
    start, end = 0, len(token)
    while start < end:
        if token[end - 1] in _TRAILING:
            end -= 1
        elif token[start] in _LEADING:
            start += 1
        elif end - start >= 2 and token[start] == token[end - 1] and token[start] in _WRAPPERS:
            start += 1
            end -= 1
        else:
            break
    return token[start:end]
