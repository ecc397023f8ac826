"""Modals, the App Home and link unfurls (SPEC 9) as Block Kit: pure builders that own Slack's limits.

Nothing here does I/O or imports the Slack SDK: each function takes plain values and returns the dict
that a handler passes to ``views.open`` / ``views.update`` / ``views.publish`` / ``chat.unfurl``. Every
result stays inside Slack's limits whatever the input (slack/FACTS.md, slack/SURFACES.md): at most 100
blocks in a modal or the Home tab, titles and buttons of a modal at most 24 characters, and so on.
What does not fit is cut and counted ("… and 3 more"), never dropped silently.

Customer cards come from :mod:`bot.cards` (the same card as the command's reply); this module only
arranges them. Text from BIK or from people is escaped (:func:`~bot.cards.v`) or shown as
``plain_text``; the only live markup written here is ours: ``<#C…>`` channel mentions built from
validated ids, and Slack date tokens.

Text parameters, by trust:

- ``loading_modal(text=…)`` and ``query_modal(intro=…)`` are shown as ``plain_text``: never parsed,
  whatever they hold;
- ``results_modal(note=…)`` is *our* mrkdwn (to allow a ``<#C…>`` from :func:`channel_ref`): callers
  escape anything else they put in it with :func:`~bot.cards.esc`;
- private metadata and callback ids are ours too: over Slack's limits they raise ``ValueError``, since
  a cut would corrupt them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from bot import cards
from bot.bik.models import Customer, sanitise
from bot.cards import Found, Result, View, cut, esc, mrkdwn, plain, v
from bot.query import MAX_QUERIES, MAX_TEXT_CHARS

# -- identifiers the handlers register listeners on ---------------------------------------------------

CALLBACK_LOOKUP = "bik_lookup"
"""The global shortcut's (and Home's) modal: queries and an optional channel to post to."""
CALLBACK_MESSAGE_INPUT = "bik_message_input"
"""The message shortcut found no id in the message: a modal with an input."""
CALLBACK_RESULTS = "bik_results"
"""A modal that shows results (and the "Looking up…" modal it replaces)."""

BLOCK_QUERIES = "queries"
ACTION_QUERIES = "queries_input"
BLOCK_POST_TO = "post_to"
ACTION_POST_TO = "post_to_select"

ACTION_HOME_LOOKUP = "home_lookup"
"""Home's "Look up a customer" button."""
ACTION_RECENT = "home_recent"
"""A recent lookup's "Show" button; its value is the query (``partner:<id>`` / ``bik:<digits>``)."""
ACTION_MODAL_SHARE = "modal_share"
""""Share in channel" on a card in a modal; its value is what :func:`bot.cards.button_value` gives."""

# -- Slack's limits for views (slack/SURFACES.md §2, §4) ----------------------------------------------

MAX_VIEW_BLOCKS = 100  # a modal or the Home tab
MAX_VIEW_TITLE = 24  # a modal's title, submit and close
MAX_METADATA = 3000
MAX_CALLBACK_ID = 255
MAX_PLACEHOLDER = 150
MAX_LABEL = 2000
MAX_CONTEXT_TEXT = 3000

# Our own budgets.
MAX_RECENT_SHOWN = 50
"""Recent lookups listed on the Home tab (the store keeps at most 50 anyway: bot/recent.py)."""
MAX_UNFURL_BLOCKS = 5
MAX_SHOWN_ID = 80
"""A recent query or an invalid channel id is shown cut to this many characters."""

_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")

ViewDict = dict[str, Any]
Block = dict[str, Any]


# -- inputs ---------------------------------------------------------------------------------------------


class PlacesLike(Protocol):
    """Where one person may run the command; :class:`Places` or ``bot.access.Reach``."""

    @property
    def everywhere(self) -> bool: ...
    @property
    def channels(self) -> tuple[str, ...]: ...
    @property
    def except_channels(self) -> tuple[str, ...]: ...
    @property
    def direct_messages(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Places:
    everywhere: bool
    """``[defaults]`` allows the person: every channel but :attr:`except_channels`."""
    channels: tuple[str, ...]
    """Channels whose own rule allows the person (listed when not :attr:`everywhere`)."""
    except_channels: tuple[str, ...]
    direct_messages: bool


class RecentLike(Protocol):
    """One recent lookup; :class:`RecentItem` or ``bot.recent.Recent``."""

    @property
    def query(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def surface(self) -> str: ...
    @property
    def at(self) -> float: ...


@dataclass(frozen=True, slots=True)
class RecentItem:
    query: str
    outcome: str
    surface: str
    at: float


# -- small helpers --------------------------------------------------------------------------------------


def _title(text: str, default: str) -> dict[str, Any]:
    shown = sanitise(text).strip() or default
    return plain(shown, MAX_VIEW_TITLE)


def _context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(cut(text, MAX_CONTEXT_TEXT))]}


def _plain_section(text: str) -> Block:
    """Text shown as it is (``:emoji:`` codes rendered; links, mentions and markup never parsed)."""
    shown = cut(sanitise(text).strip() or " ", cards.MAX_SECTION_TEXT)
    return {"type": "section", "text": {"type": "plain_text", "text": shown, "emoji": True}}


def _button(text: str, action_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": plain(text, cards.MAX_BUTTON_TEXT), "action_id": action_id, **extra}


def _code(value: str, limit: int = MAX_SHOWN_ID) -> str:
    shown = v(value, limit)
    return f"`{shown}`" if "`" not in shown else f"“{shown}”"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _view_fields(view: ViewDict, *, callback_id: str, private_metadata: str) -> ViewDict:
    if len(callback_id) > MAX_CALLBACK_ID:
        raise ValueError(f"callback_id of {len(callback_id)} characters (at most {MAX_CALLBACK_ID})")
    if len(private_metadata) > MAX_METADATA:
        raise ValueError(f"private_metadata of {len(private_metadata)} characters (at most {MAX_METADATA})")
    if callback_id:
        view["callback_id"] = callback_id
    if private_metadata:
        view["private_metadata"] = private_metadata
    return view


def channel_ref(channel_id: str) -> str:
    """A channel for mrkdwn: a ``<#C…>`` mention when the id is a channel id, else the text escaped."""
    if isinstance(channel_id, str) and _CHANNEL_ID.fullmatch(channel_id):
        return f"<#{channel_id}>"
    return _code(str(channel_id), 40)


def fit_list(items: Sequence[str], limit: int, *, sep: str = ", ") -> str:
    """Join as many items as fit in ``limit`` characters, then "and N more" for the rest."""
    out: list[str] = []
    size = 0
    for index, item in enumerate(items):
        left_after = len(items) - index - 1
        reserve = len(f" and {left_after} more") if left_after else 0
        if size + len(sep) * bool(out) + len(item) + reserve > limit:
            return cut(sep.join(out) + f" and {len(items) - index} more", limit)
        size += len(sep) * bool(out) + len(item)
        out.append(item)
    return sep.join(out)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


# -- private metadata -----------------------------------------------------------------------------------


def metadata(**values: str) -> str:
    """Compact JSON for a view's ``private_metadata`` (the channel id, the shortcut's response_url…).

    Raises ValueError when a value is not a string or the result is over Slack's 3000 characters: a cut
    would lose what the next step needs, so the caller must decide what to carry instead."""
    for key, value in values.items():
        if not isinstance(value, str):
            raise ValueError(f"metadata value {key!r} is a {type(value).__name__}, not a string")
    text = json.dumps(values, separators=(",", ":"))
    if len(text) > MAX_METADATA:
        raise ValueError(f"private_metadata of {len(text)} characters (at most {MAX_METADATA})")
    return text


def read_metadata(text: str | None) -> dict[str, str]:
    """What :func:`metadata` wrote; never raises: anything else (absent, too long, not a JSON object of
    strings) reads as ``{}``, and pairs that are not string to string are left out."""
    if not isinstance(text, str) or not text or len(text) > MAX_METADATA:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: value for k, value in data.items() if isinstance(k, str) and isinstance(value, str)}


# -- modals ---------------------------------------------------------------------------------------------


def loading_modal(
    title: str, text: str, *, callback_id: str = CALLBACK_RESULTS, private_metadata: str = ""
) -> ViewDict:
    """The modal opened inside the trigger's 3 seconds, before any BIK call; ``text`` is shown as
    plain text, emoji codes rendered (":mag: Looking up…")."""
    view: ViewDict = {
        "type": "modal",
        "title": _title(title, "BIK customer"),
        "close": plain("Close", MAX_VIEW_TITLE),
        "blocks": [_plain_section(text or ":mag: Looking up…")],
    }
    return _view_fields(view, callback_id=callback_id, private_metadata=private_metadata)


def _modal_inline_addresses(card_count: int) -> int:
    return 10 if card_count <= 1 else 3 if card_count <= 3 else 1


_MODAL_KEEPS = frozenset({cards.ACTION_ADDRESSES, cards.ACTION_OPEN})
"""The card's buttons that work from a modal. The others act on the message they sit in through its
``response_url`` (Share in channel; Refresh and Try again, which replace the message), and a click
in a modal carries none: they are left out, and Share is replaced by :data:`ACTION_MODAL_SHARE`."""


def _modal_card(found: Found, view: View, *, share: bool, inline_addresses: int) -> list[Block]:
    """The command's card with only the buttons that work in a modal (:data:`_MODAL_KEEPS`); with
    ``share``, a modal Share button that the handler routes to the right place."""
    blocks = cards.customer_blocks(
        found, replace(view, share_button=False), inline_addresses=inline_addresses
    )
    out: list[Block] = []
    for block in blocks:
        if block.get("type") == "actions":
            elements = [e for e in block.get("elements", []) if e.get("action_id") in _MODAL_KEEPS]
            if not elements:
                continue
            block = {**block, "elements": elements}
        out.append(block)
    value = cards.button_value(found, view) if share else None
    if value is not None:
        button = _button("Share in channel", ACTION_MODAL_SHARE, value=value)
        if out and out[-1].get("type") == "actions" and len(out[-1]["elements"]) < 25:
            out[-1] = {**out[-1], "elements": [button, *out[-1]["elements"]]}
        else:
            out.append({"type": "actions", "elements": [button]})
    return out


def results_modal(
    results: Sequence[Result],
    view: View,
    *,
    title: str = "BIK customer",
    share: bool = False,
    private_metadata: str = "",
    more: int = 0,
    note: str | None = None,
    callback_id: str = CALLBACK_RESULTS,
) -> ViewDict:
    """Cards and error lines in a modal (SPEC 9.1, 9.2, 9.4), at most 100 blocks.

    ``view`` is how the cards are masked and who reads them (the clicker alone). ``share`` adds a
    *Share in channel* button (:data:`ACTION_MODAL_SHARE`) to each card whose lookup can be re-run
    from a button value. ``more`` counts ids beyond the first five that were not looked up. ``note``
    is a context line of our own mrkdwn (why something is masked, "Posted to <#C…>")."""
    found_count = sum(isinstance(r, Found) for r in results)
    inline = _modal_inline_addresses(found_count)
    chunks: list[list[Block]] = []
    for result in results:
        if isinstance(result, Found):
            chunks.append(_modal_card(result, view, share=share, inline_addresses=inline))
        else:
            chunks.append([{"type": "section", "text": mrkdwn(cards.error_text(result, view))}])

    tail: list[Block] = []
    if more > 0:
        tail.append(
            _context(
                f"{_plural(more, 'more id')} in the message {'was' if more == 1 else 'were'} not looked up "
                f"(at most {MAX_QUERIES} at a time): use `/bik-customer` for the rest."
            )
        )
    if view.masked:
        tail.append(_context(f":lock: {' and '.join(sorted(view.masked))} masked here"))
    if note:
        tail.append(_context(note))

    room = MAX_VIEW_BLOCKS - len(tail) - 1  # one for "N more results not shown"
    blocks: list[Block] = []
    shown = 0
    for chunk in chunks:
        needed = len(chunk) + (1 if blocks else 0)
        if len(blocks) + needed > room:
            if not blocks:  # a single card larger than the modal: cut it (never happens with cards' budgets)
                blocks = chunk[:room]
                shown = 1
            break
        if blocks:
            blocks.append({"type": "divider"})
        blocks.extend(chunk)
        shown += 1
    hidden = len(chunks) - shown
    if hidden:
        blocks.append(
            _context(f"{_plural(hidden, 'more result')} not shown here: look them up with `/bik-customer`.")
        )
    if not blocks:
        blocks.append(_plain_section("Nothing to show."))
    modal: ViewDict = {
        "type": "modal",
        "title": _title(title, "BIK customer"),
        "close": plain("Close", MAX_VIEW_TITLE),
        "blocks": [*blocks, *tail][:MAX_VIEW_BLOCKS],
    }
    return _view_fields(modal, callback_id=callback_id, private_metadata=private_metadata)


QUERIES_PLACEHOLDER = "abcd-122345 partner:ab-12 bik:5482636"
QUERIES_HINT = (
    f"Up to {MAX_QUERIES} ids, separated by spaces: a partner id, partner:<id> or bik:<digits>. "
    "A bare number that is no partner id is tried as a BIK id."
)
POST_TO_HINT = (
    "Optional. The card is posted there for everyone in the channel to read, masked as that "
    "channel's rule says. Clear it to keep the lookup to yourself."
)
NO_ID_INTRO = "No customer id found in that message. Type one or more ids to look them up."


def query_modal(
    *,
    callback_id: str = CALLBACK_LOOKUP,
    initial: str = "",
    channel_picker: bool | None = None,
    private_metadata: str = "",
    title: str = "Look up a customer",
    intro: str | None = None,
) -> ViewDict:
    """A modal that asks for queries (the command's grammar) and, with ``channel_picker``, a channel
    to post the cards to as well (SPEC 9.2). Submitted as ``callback_id``; the queries arrive in
    ``state.values[BLOCK_QUERIES][ACTION_QUERIES].value``, the channel (or null) in
    ``state.values[BLOCK_POST_TO][ACTION_POST_TO].selected_conversation`` with its ``response_urls``.

    ``channel_picker`` defaults to True for :data:`CALLBACK_LOOKUP` only (the message shortcut's
    input posts through the message's own ``response_url``). ``intro`` (plain text) defaults to "no id
    found in that message" for :data:`CALLBACK_MESSAGE_INPUT`.

    The picker is an input block's ``conversations_select`` with ``response_url_enabled``: Slack honours
    that only for a select in an *input* block of a *modal*, and hands the app the response_url of the
    first such select on submission, so this modal holds exactly one."""
    if channel_picker is None:
        channel_picker = callback_id == CALLBACK_LOOKUP
    if intro is None and callback_id == CALLBACK_MESSAGE_INPUT:
        intro = NO_ID_INTRO
    blocks: list[Block] = []
    if intro:
        blocks.append(_plain_section(intro))
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ACTION_QUERIES,
        "placeholder": plain(QUERIES_PLACEHOLDER, MAX_PLACEHOLDER),
        "max_length": MAX_TEXT_CHARS,
        "focus_on_load": True,
    }
    initial = cut(sanitise(initial).strip(), MAX_TEXT_CHARS)
    if initial:
        element["initial_value"] = initial
    blocks.append(
        {
            "type": "input",
            "block_id": BLOCK_QUERIES,
            "label": plain("Customer ids", MAX_LABEL),
            "hint": plain(QUERIES_HINT, MAX_LABEL),
            "element": element,
        }
    )
    if channel_picker:
        blocks.append(
            {
                "type": "input",
                "block_id": BLOCK_POST_TO,
                "optional": True,
                "label": plain("Also post to", MAX_LABEL),
                "hint": plain(POST_TO_HINT, MAX_LABEL),
                "element": {
                    "type": "conversations_select",
                    "action_id": ACTION_POST_TO,
                    "placeholder": plain("Only me (no post)", MAX_PLACEHOLDER),
                    "response_url_enabled": True,
                    "default_to_current_conversation": True,
                    "filter": {"include": ["public", "private"], "exclude_bot_users": True},
                },
            }
        )
    modal: ViewDict = {
        "type": "modal",
        "title": _title(title, "Look up a customer"),
        "submit": plain("Look up", MAX_VIEW_TITLE),
        "close": plain("Cancel", MAX_VIEW_TITLE),
        "blocks": blocks,
    }
    return _view_fields(modal, callback_id=callback_id, private_metadata=private_metadata)


# -- App Home ---------------------------------------------------------------------------------------------

_OUTCOMES = {
    "found": "found",
    "not_found": "no customer",
    "denied": "not allowed",
    "invalid": "invalid",
    "rate_limited": "rate limited",
}
_SURFACES = {
    "command": "/bik-customer",
    "message_shortcut": "message shortcut",
    "global_shortcut": "shortcut",
    "unfurl": "link preview",
    "home": "Home",
    "refresh": "refresh",
    "retry": "try again",
    "share": "share",
    "addresses": "addresses",
}


def outcome_words(outcome: str) -> str:
    """A recent lookup's outcome in words (escaped mrkdwn)."""
    if outcome in _OUTCOMES:
        return _OUTCOMES[outcome]
    return f"failed ({v(outcome, 32)})"


def _surface_words(surface: str) -> str:
    return _SURFACES.get(surface) or v(surface.replace("_", " "), 32)


def _when(at: float) -> str | None:
    try:
        if not math.isfinite(at) or at <= 0:
            return None
        fallback = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError, TypeError):
        return None
    return f"<!date^{int(at)}^{{date_short_pretty}} {{time}}|{fallback}>"


def _recent_block(item: RecentLike, *, buttons: bool) -> Block:
    parts = [_code(str(item.query), MAX_SHOWN_ID), outcome_words(str(item.outcome))]
    when = _when(item.at)
    if when:
        parts.append(when)
    parts.append("via " + _surface_words(str(item.surface)))
    block: Block = {"type": "section", "text": mrkdwn(" · ".join(parts))}
    query = str(item.query)
    if buttons and query.strip() and len(query) <= cards.MAX_BUTTON_VALUE:
        block["accessory"] = _button("Show", ACTION_RECENT, value=query)
    return block


def places_text(places: PlacesLike) -> str:
    """Where the command works for this person, as mrkdwn of at most 3000 characters."""
    title = "*Where you can use /bik-customer*"
    budget = cards.MAX_SECTION_TEXT - len(title) - 40
    lines: list[str] = []
    if places.everywhere:
        exceptions = [channel_ref(c) for c in _unique(places.except_channels)]
        if exceptions:
            lines.append("• Every channel except " + fit_list(exceptions, budget - 60))
        else:
            lines.append("• Every channel")
    elif places.channels:
        lines.append("• " + fit_list([channel_ref(c) for c in _unique(places.channels)], budget - 60))
    if places.direct_messages:
        lines.append("• Direct messages")
    if not lines:
        lines.append("Nowhere yet — ask an admin to allow you in a channel.")
    return cut(title + "\n" + "\n".join(lines), cards.MAX_SECTION_TEXT)


def home_view(
    *, can_look_up: bool, places: PlacesLike, recent: Sequence[RecentLike], recent_enabled: bool
) -> ViewDict:
    """The App Home tab for one person (SPEC 9.4). Recent lookups show ids only, never customer data;
    their *Show* buttons (and the *Look up* button) appear only when ``can_look_up`` (the
    ``[direct_messages]`` rule that governs both allows this person)."""
    blocks: list[Block] = [{"type": "header", "text": plain("BIK customer lookup", cards.MAX_HEADER)}]
    if can_look_up:
        blocks.append(
            {
                "type": "section",
                "text": mrkdwn("Look up a BIK customer by partner id or BIK id; only you see the result."),
            }
        )
        blocks.append(
            {
                "type": "actions",
                "elements": [_button("Look up a customer", ACTION_HOME_LOOKUP, style="primary")],
            }
        )
    blocks.append({"type": "divider"})
    blocks.append({"type": "section", "text": mrkdwn(places_text(places))})
    if recent_enabled:
        blocks.append({"type": "divider"})
        blocks.append({"type": "section", "text": mrkdwn("*Your recent lookups*")})
        room = min(MAX_RECENT_SHOWN, MAX_VIEW_BLOCKS - len(blocks) - 2)
        items = list(recent)
        if not items:
            blocks.append(_context("No lookups yet."))
        for item in items[:room]:
            blocks.append(_recent_block(item, buttons=can_look_up))
        if len(items) > room:
            blocks.append(_context(f"{_plural(len(items) - room, 'older lookup')} not shown."))
        blocks.append(_context("Only the ids you looked up are kept here, for 7 days."))
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}


# -- link unfurling ---------------------------------------------------------------------------------------


_UNFURL_FIELDS = ("*BIK id*", "*Partner id*", "*Phone*", "*Email*", "*Country*")


def _unfurl_fields(found: Found, view: View) -> list[dict[str, Any]]:
    """The card's own fields, so an unfurl shows each value exactly as the card does (the country by
    name, the email as the card links it), less the dates: SPEC 9.3's ids, phone, email, country."""
    card = cards.customer_blocks(
        found, replace(view, share_button=False, dashboard_url=None), inline_addresses=0
    )
    fields: list[dict[str, Any]] = next(
        (b["fields"] for b in card if b.get("type") == "section" and b.get("fields")), []
    )
    return [f for f in fields if str(f.get("text", "")).startswith(_UNFURL_FIELDS)]


def unfurl_attachment(found: Found, view: View, *, dashboard_url: str | None) -> dict[str, Any]:
    """The compact card for a BIK dashboard link (SPEC 9.3), as one ``chat.unfurl`` value.

    ``found.customer`` is already masked as the whole channel reads it. ``dashboard_url`` is the
    ``BIK_DASHBOARD_URL`` template (with ``{bik_id}``) for *Open in BIK*; None leaves the button out.
    No Share, Refresh or Addresses buttons: an unfurl is already in the channel."""
    customer = found.customer
    name = cards.customer_name(customer)
    head: Block = {"type": "section", "text": mrkdwn(f"*{esc(name)}*")}
    fields = _unfurl_fields(found, view)
    if fields:
        head["fields"] = fields
    blocks: list[Block] = [head]

    addresses = customer.addresses_default_first
    if addresses:
        first = addresses[0]
        title = "Default address" if first.is_default else "Address"
        blocks.append({"type": "section", "text": mrkdwn(cards.address_text(first, title))})

    notes = ["BIK customer"]
    if len(addresses) > 1:
        notes.append(f"{len(addresses)} addresses")
    if view.masked:
        notes.append(f":lock: {' and '.join(sorted(view.masked))} masked in this channel")
    blocks.append(_context(" · ".join(notes)))

    url = _dashboard_link(dashboard_url, customer)
    if url:
        blocks.append({"type": "actions", "elements": [_button("Open in BIK", cards.ACTION_OPEN, url=url)]})

    ids = ", ".join(
        f"{k} {i}" for k, i in (("BIK id", customer.id), ("partner id", customer.partner_customer_id)) if i
    )
    fallback = f"BIK customer: {name}" + (f" ({ids})" if ids else "")
    return {
        "fallback": cut(cards.defang(esc(sanitise(fallback))), 300),
        "blocks": blocks[:MAX_UNFURL_BLOCKS],
    }


def _dashboard_link(template: str | None, customer: Customer) -> str | None:
    """The customer's page in BIK, or None (no template, no BIK id, a template that does not format)."""
    try:
        url = cards.dashboard_link(template, customer)
    except (KeyError, IndexError, ValueError, AttributeError):
        return None
    if url is None or not url.startswith(("https://", "http://")):
        return None
    return url
