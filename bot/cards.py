"""Customer results -> Block Kit messages (SPEC section 4). Pure, and the only place that knows
Slack's limits.

Every value from BIK is untrusted. It reaches Slack either as ``plain_text`` (never parsed) or as
mrkdwn through :func:`esc`, inside text objects marked ``verbatim`` so Slack does not auto-link or
auto-mention anything in it. Values are cut to size *before* escaping, so a cut never splits an
entity, and every text object is checked against its limit after.

Every BIK value is also passed through :func:`~bot.bik.models.sanitise` where it is rendered (the
header, every mrkdwn value through :func:`v`, the fallback text, the modal, BIK's own error
message): no newline can add a line to a field and no bidi control can turn text around. The model
does the same on the way in; doing it here again covers a customer copied without validation.

What a masked view hides besides the customer (already masked by :mod:`bot.masking`):

- the id that was asked for: in error lines and the fallback, a partner id that looks like a phone
  or an email is masked like one (``No customer with partner id `+91******9090```). A BIK id is
  BIK's key, never masked;
- button values, which every client in the channel receives with the message: when the query
  would show something masked, the buttons carry the customer's BIK id (``bik:5482636``) instead,
  and with no usable BIK id the buttons that need the query are left out;
- BIK's own message for a rejected query (SPEC section 4, 400): it is free text from BIK and may
  repeat what was asked, so it is shown only in a reply that the asker alone sees with nothing
  masked; elsewhere a generic sentence replaces it. :func:`error_text` without a view assumes the
  strictest audience.

What a card shows beyond BIK's values (SPEC section 4):

- a footer naming who looked it up (or shared it) and, when the caller passes
  :attr:`View.fetched_at`, when BIK answered ("data as of", a Slack date token);
- a **Refresh** button on every card and a **Try again** button beside every error that may pass on
  its own (unavailable, timeout, unexpected answer). Both re-run *every* query of the message and
  replace the whole message: a click on an ephemeral message carries no copy of it, so one card
  cannot be spliced into the rest. Their value is :func:`message_value`;
- an unmasked email as a ``mailto:`` link, only when the address is made of characters that are
  safe inside a Slack link (see :func:`email_text`); a masked one, never;
- the country by name with BIK's code, ``India (IND)`` (see :func:`country_label`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import pycountry

from bot.bik.errors import (
    BikError,
    NotConnected,
    NotFound,
    Rejected,
    TimedOut,
    Unauthorized,
    Unavailable,
    Unexpected,
    WrongAddress,
)
from bot.bik.models import Address, Asset, Customer, sanitise
from bot.masking import mask_text
from bot.query import (
    MAX_QUERIES,
    MAX_TEXT_CHARS,
    USAGE,
    Kind,
    Lookup,
    Query,
    QueryError,
    parse_command,
    parse_query,
)

# Slack's limits (slack/FACTS.md), kept together so tests can import them.
MAX_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
MAX_HEADER = 150
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_FALLBACK = 3000
MAX_MODAL_TITLE = 24

# Our own budgets, well inside Slack's, to keep a card readable.
MAX_VALUE = 300  # one BIK value, before escaping (escaping grows it at most 5x -> 1500 < 2000)
MAX_NAME = 120
MAX_ASSETS_SHOWN = 8
MAX_TAGS_SHOWN = 20

# The audience assumed when none is given: everything masked, the whole channel reading.
STRICT_MASK = frozenset({"phone", "email", "address"})

ACTION_SHARE = "share_in_channel"
ACTION_ADDRESSES = "show_all_addresses"
ACTION_OPEN = "open_in_bik"
ACTION_REFRESH = "refresh_card"
ACTION_RETRY = "retry_lookup"

Message = dict[str, Any]
Block = dict[str, Any]


@dataclass(frozen=True, slots=True)
class View:
    """How a reply is presented; decided by the access policy, never by BIK data."""

    requester_id: str
    response_type: str = "ephemeral"
    share_button: bool = False
    dashboard_url: str | None = None
    masked: frozenset[str] = frozenset()
    shared_by: str | None = None
    fetched_at: datetime | None = None
    """When BIK answered: shown in the footer as "data as of" (a Slack date token). None: not shown."""
    refresh: bool = True
    """Offer Refresh on cards and Try again on retryable errors; False turns both off (a preview)."""

    @property
    def seen_by_channel(self) -> bool:
        """Posted for everyone in the channel (an in_channel reply or a share), not the asker alone."""
        return self.response_type != "ephemeral" or self.shared_by is not None

    @property
    def shows_bik_messages(self) -> bool:
        """BIK's own free text may be shown: to the asker alone, with nothing masked."""
        return not self.seen_by_channel and not self.masked


@dataclass(frozen=True, slots=True)
class Found:
    query: Query
    customer: Customer  # already masked for the view


@dataclass(frozen=True, slots=True)
class Failed:
    query: Query
    error: BikError
    tried_bik_too: bool = False
    ref: str | None = None
    """The request's reference (SPEC 10), quoted on errors an admin or BIK must act on."""


Result = Found | Failed


# -- text helpers ----------------------------------------------------------------------------------


_BROADCAST = re.compile(r"@(here|channel|everyone)\b", re.IGNORECASE)


def defang(text: str) -> str:
    """Keep ``@here``-style words in third-party text from ever reading as a broadcast: a word
    joiner (invisible) after the ``@``. Slack leaves them as plain text unless ``link_names`` is
    set; this holds even if that default changes, where the fallback text is shown."""
    return _BROADCAST.sub("@\u2060\\1", text)


def esc(value: object) -> str:
    """Escape an untrusted value for mrkdwn: only ``&``, ``<`` and ``>`` are special."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def v(value: object, limit: int = MAX_VALUE) -> str:
    """An untrusted value, sanitised, cut, then escaped: one line, safe inside mrkdwn."""
    return esc(cut(sanitise(str(value)), limit))


def customer_name(customer: Customer) -> str:
    """The customer's name for a header, a title or the fallback: sanitised and cut, never empty."""
    return cut(sanitise(customer.full_name or "").strip() or "Unnamed customer", MAX_NAME)


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": cut(text, MAX_SECTION_TEXT), "verbatim": True}


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": cut(text, limit) or " ", "emoji": False}


def slack_date(when: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """A Slack date token, shown in each reader's time zone; the fallback is written in UTC (a
    naive datetime is taken as UTC, as :mod:`bot.bik.models` reads BIK's dates)."""
    when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{fmt}|{fallback}>"


# An address that can stand inside ``<mailto:…|…>`` as it is: no character that mrkdwn escapes or
# that ends a link (``& < > |``), no whitespace, no ``*`` (every masked email has one), ASCII only.
_LINKABLE_EMAIL = re.compile(r"[A-Za-z0-9._+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


def email_text(value: str, masked: Iterable[str] = ()) -> str:
    """An email for mrkdwn: a ``mailto:`` link when it is unmasked and safe to link, else escaped text.

    Not a link: any email of a reply where "email" is masked, anything masked by content (it holds
    ``*``: ``t***@bik.ai``, ``******3210@x.com`` under phone masking), and any address with a
    character that could end the link or needs escaping (``| < > &``, spaces, quotes, non-ASCII) or
    longer than one value may be (:data:`MAX_VALUE`): those are shown as plain escaped text, so a
    value can never break out of the link or link somewhere else."""
    address = sanitise(value)
    if (
        "email" not in frozenset(masked)
        and len(address) <= MAX_VALUE
        and _LINKABLE_EMAIL.fullmatch(address) is not None
    ):
        return f"<mailto:{address}|{address}>"
    return v(value)


_COUNTRY_CODE = re.compile(r"[A-Za-z]{2,3}")


def country_name(code: str) -> str | None:
    """The country's name for an ISO 3166 alpha-3 code (BIK's), or alpha-2 (addresses sometimes
    carry one), from pycountry: the common name where there is one (``Bolivia``), else the name.
    None for anything else."""
    return _country_name(code.upper()) if _COUNTRY_CODE.fullmatch(code) else None


@lru_cache(maxsize=1024)
def _country_name(code: str) -> str | None:
    if len(code) == 3:
        country = pycountry.countries.get(alpha_3=code)
    else:
        country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return None
    return str(getattr(country, "common_name", None) or country.name)


def country_label(name: str | None, code: str | None) -> str | None:
    """What a card shows for a country: ``Name (CODE)``, never the same thing twice.

    - a code alone: its name from pycountry and the code, ``India (IND)``; an unknown code as it is;
    - a name alone: the name; when BIK put a code in the name field (``IND``), read as a code;
    - both (an address: ``country`` "India", ``countryCode`` "IN"): BIK's own name with BIK's code,
      ``India (IN)``. BIK's name wins over pycountry's: it is what the store recorded, and a code that
      disagrees with it stays visible beside it. The code is left out when it reads the same as the
      name (``India (India)`` never appears).
    """
    name = sanitise(name).strip() if name else None
    code = sanitise(code).strip() if code else None
    if name and not code and country_name(name):
        name, code = None, name
    label = name or (country_name(code) if code else None) or code
    if not label:
        return None
    if code and code.casefold() != label.casefold():
        return f"{label} ({code})"
    return label


def fit_lines(lines: Sequence[str], limit: int, more: str = "… and {n} more") -> str:
    """Join as many lines as fit in ``limit`` characters, then say how many were left out."""
    out: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        tail = more.format(n=len(lines) - index - 1)
        reserve = len(tail) + 1 if index < len(lines) - 1 else 0
        if size + len(line) + 1 + reserve > limit:
            out.append(more.format(n=len(lines) - index))
            break
        out.append(line)
        size += len(line) + 1
    return cut("\n".join(out), limit)


def _code(value: str) -> str:
    shown = v(value, 80)
    return f"`{shown}`" if "`" not in shown else f"“{shown}”"


def shown_id(query: Query, masked: Iterable[str]) -> str:
    """The id asked for, as a reply with ``masked`` fields may show it."""
    return query.value if query.kind is Kind.BIK else mask_text(query.value, masked)


def button_value(found: Found, view: View) -> str | None:
    """What a button that re-runs this lookup carries: the query, or the BIK id when the query
    would show something the view masks; None when neither can be carried."""
    query = found.query
    if shown_id(query, view.masked) == query.value:
        return cut(str(query), MAX_BUTTON_VALUE)
    if not found.customer.id:
        return None
    try:
        return str(parse_query(f"bik:{found.customer.id}"))
    except QueryError:
        return None


RETRYABLE = (Unavailable, TimedOut, Unexpected)
"""Errors that may pass on their own: they get a Try again button."""


def _token(query: Query) -> str:
    """A query as typed: ``partner:abc``, ``bik:123``; a bare all-digits id stays bare, so it is
    tried as a BIK id again when no partner id matches."""
    return query.value if query.digits_fallback else str(query)


def _carried(result: Result, view: View) -> Query | None:
    """The query a Refresh or Try again may carry for one result, or None (see :func:`message_value`)."""
    query = result.query
    tokens = [_token(query)] if shown_id(query, view.masked) == query.value else []
    if isinstance(result, Found) and result.customer.id:
        tokens.append(f"bik:{result.customer.id}")  # what button_value carries on a masked card
    for token in tokens:
        try:
            # As a command of its own, so that what the whole text would split differently (a space
            # in a Query built by hand, not by the parser) is caught here, query by query.
            command = parse_command(esc(token))
        except QueryError:
            continue
        if isinstance(command, Lookup) and len(command.queries) == 1:
            parsed = command.queries[0]
            if shown_id(parsed, view.masked) == parsed.value:
                return parsed
    return None


def message_value(results: Sequence[Result], view: View) -> str | None:
    """What Refresh and Try again carry: every query of the message, re-run together.

    Each query is written as :func:`button_value` writes it: as asked (``partner:abc``, ``bik:123``,
    a bare all-digits id kept bare so the BIK-id fallback runs again), except that on a masked reply
    a query that would show a masked value is replaced by the found customer's ``bik:<id>``, and left
    out when it found nothing (or the customer has no BIK id). Duplicates are dropped. The queries
    are joined by single spaces and ``&``, ``<``, ``>`` are escaped as Slack escapes command text, so
    :func:`bot.query.parse_command` reads back exactly these queries. None — no button — when
    nothing is left, or when the text would not fit a button value or a command
    (:data:`MAX_BUTTON_VALUE`, :data:`~bot.query.MAX_TEXT_CHARS`): a refresh that silently dropped a
    card would be worse than none."""
    carried: dict[tuple[Kind, str], Query] = {}
    for result in results:
        query = _carried(result, view)
        if query is not None:
            carried.setdefault((query.kind, query.value), query)
    if not carried or len(carried) > MAX_QUERIES:
        return None
    value = esc(" ".join(_token(q) for q in carried.values()))
    if len(value) > min(MAX_BUTTON_VALUE, MAX_TEXT_CHARS):
        return None
    try:
        command = parse_command(value)
    except QueryError:
        return None
    same = isinstance(command, Lookup) and command.queries == tuple(carried.values())
    return value if same else None


# -- customer card ---------------------------------------------------------------------------------


def _fields(customer: Customer, masked: Iterable[str] = ()) -> list[dict[str, Any]]:
    country = country_label(None, customer.country_code)
    pairs = [
        (label, shown)
        for label, shown in (
            ("BIK id", customer.id and v(customer.id)),
            ("Partner id", customer.partner_customer_id and v(customer.partner_customer_id)),
            ("Phone", customer.phone_number and v(customer.phone_number)),
            ("Email", customer.email and email_text(customer.email, masked)),
            ("Country", country and v(country)),
        )
        if shown
    ]
    dates = (("Created", customer.created_at), ("Updated", customer.updated_at))
    pairs += [(label, slack_date(when)) for label, when in dates if when]
    return [mrkdwn(cut(f"*{label}*\n{value}", MAX_FIELD_TEXT)) for label, value in pairs[:MAX_FIELDS]]


def address_text(address: Address, title: str, masked: Iterable[str] = ()) -> str:
    """One address as mrkdwn lines: street, locality, country (:func:`country_label`), the contact
    (email as :func:`email_text`, phone as plain text) and a map link."""
    lines = [f"*{title}*"]
    for line in (address.address1, address.address2):
        if line:
            lines.append(v(line))
    locality = ", ".join(v(p) for p in (address.city, address.state) if p)
    if address.zip:
        locality = f"{locality} {v(address.zip)}".strip()
    if locality:
        lines.append(locality)
    country = country_label(address.country, address.country_code)
    if country:
        lines.append(v(country))
    contact = [v(p) for p in (address.contact_name, address.phone_number) if p]
    if address.email:
        contact.append(email_text(address.email, masked))
    if contact:
        lines.append("Contact: " + " · ".join(contact))
    if address.latitude is not None and address.longitude is not None:
        lines.append(f"<https://maps.google.com/?q={address.latitude:.6f},{address.longitude:.6f}|Map>")
    if len(lines) == 1:
        lines.append("_no details_")
    return fit_lines(lines, MAX_SECTION_TEXT)


def _address_title(address: Address, index: int, total: int) -> str:
    if address.is_default:
        return "Default address"
    return "Address" if total == 1 else f"Address {index} of {total}"


def _asset_line(asset: Asset, primary: set[str], masked: Iterable[str]) -> str:
    value = asset.asset_value or ""
    text = email_text(value, masked) if asset.is_email else v(value)
    notes = []
    if asset.asset_value in primary:
        notes.append("primary")
    if asset.created_at:
        notes.append("added " + slack_date(asset.created_at, "{date_short_pretty}"))
    return f"• {text}" + (f" ({', '.join(notes)})" if notes else "")


def _contacts_block(customer: Customer, masked: Iterable[str] = ()) -> Block | None:
    primary = {p for p in (customer.email, customer.phone_number) if p}
    assets = [a for a in customer.assets if a.asset_value]
    emails = [a for a in assets if a.is_email]
    phones = [a for a in assets if a.is_phone]
    others = [a for a in assets if not a.is_email and not a.is_phone]
    parts: list[str] = []
    for title, group in (("Emails", emails), ("Phones", phones), ("Other contacts", others)):
        if not group:
            continue
        lines = [_asset_line(a, primary, masked) for a in group[:MAX_ASSETS_SHOWN]]
        if len(group) > MAX_ASSETS_SHOWN:
            lines.append(f"… and {len(group) - MAX_ASSETS_SHOWN} more")
        parts.append(f"*{title}*\n" + "\n".join(lines))
    if not parts:
        return None
    return {"type": "section", "text": mrkdwn(fit_lines("\n".join(parts).split("\n"), MAX_SECTION_TEXT))}


def _tags_block(customer: Customer) -> Block | None:
    if not customer.tags:
        return None
    shown = ", ".join(v(t, 60) for t in customer.tags[:MAX_TAGS_SHOWN])
    if len(customer.tags) > MAX_TAGS_SHOWN:
        shown += f" and {len(customer.tags) - MAX_TAGS_SHOWN} more"
    return {"type": "context", "elements": [mrkdwn(f"*Tags:* {shown}")]}


def dashboard_link(template: str | None, customer: Customer) -> str | None:
    if not template or not customer.id:
        return None
    url = template.format(bik_id=quote(customer.id, safe=""))
    return url if len(url) <= MAX_URL else None


def _button(text: str, action_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": plain(text, MAX_BUTTON_TEXT), "action_id": action_id, **extra}


def customer_blocks(
    found: Found, view: View, *, inline_addresses: int, refresh_value: str | None = None
) -> list[Block]:
    """One customer's card. Its buttons, in this order: Share in channel, Show all addresses,
    Open in BIK, Refresh. Refresh carries ``refresh_value`` (the whole message's queries, see
    :func:`message_value`); without one, this card's own (``message_value([found], view)``).
    No Refresh when ``view.refresh`` is off or there is nothing to carry."""
    customer = found.customer
    blocks: list[Block] = [{"type": "header", "text": plain(customer_name(customer), MAX_HEADER)}]
    fields = _fields(customer, view.masked)
    if fields:
        blocks.append({"type": "section", "fields": fields})

    addresses = customer.addresses_default_first
    shown = addresses[:inline_addresses]
    for index, address in enumerate(shown, start=1):
        title = _address_title(address, index, len(addresses))
        blocks.append({"type": "section", "text": mrkdwn(address_text(address, title, view.masked))})
    hidden = len(addresses) - len(shown)
    if hidden:
        blocks.append(
            {"type": "context", "elements": [mrkdwn(f"+ {hidden} more address{'es' * (hidden > 1)}")]}
        )

    for block in (_contacts_block(customer, view.masked), _tags_block(customer)):
        if block is not None:
            blocks.append(block)

    buttons: list[dict[str, Any]] = []
    value = button_value(found, view)
    if value is not None and view.share_button and view.response_type == "ephemeral":
        buttons.append(_button("Share in channel", ACTION_SHARE, value=value))
    if value is not None and hidden:
        buttons.append(_button(f"Show all {len(addresses)} addresses", ACTION_ADDRESSES, value=value))
    url = dashboard_link(view.dashboard_url, customer)
    if url:
        buttons.append(_button("Open in BIK", ACTION_OPEN, url=url))
    if view.refresh:
        again = refresh_value if refresh_value is not None else message_value([found], view)
        if again is not None:
            buttons.append(_button("Refresh", ACTION_REFRESH, value=again))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return blocks


# -- errors ----------------------------------------------------------------------------------------


def error_text(failed: Failed, view: View | None = None) -> str:
    """One short, human line that says what happened and who can act.

    ``view`` is who reads it. Without one the line is written for the strictest audience: the id
    masked by its content, BIK's own message left out. Errors an admin or BIK must act on quote the
    request's reference, so a screenshot leads to the log lines."""
    line = _error_line(failed, view)
    if failed.ref and (
        failed.error.admin_fix or isinstance(failed.error, TimedOut | Unavailable | Unexpected)
    ):
        line += f" (ref {failed.ref})"
    return line


def _error_line(failed: Failed, view: View | None) -> str:
    query, error = failed.query, failed.error
    shown = shown_id(query, view.masked if view is not None else STRICT_MASK)
    label = f"{query.kind.label} {_code(shown)}"
    if isinstance(error, NotFound):
        if failed.tried_bik_too:
            return f":mag: No customer with partner id or BIK id {_code(shown)}."
        return f":mag: No customer with {label}."
    if isinstance(error, Rejected):
        if view is not None and view.shows_bik_messages:
            return f":no_entry: BIK rejected the lookup of {label}: “{v(error.detail)}”"
        return (
            f":no_entry: BIK rejected the lookup of {label}. Check the id; BIK's own message is "
            "not shown where a reply is masked or seen by the channel."
        )
    if isinstance(error, Unauthorized):
        return (
            ":lock: BIK refused the bot's credentials. An admin must fix the bot's BIK token "
            "(`BIK_API_TOKEN`, or `BIK_API_KEY` and `BIK_API_SECRET`; where BIK was connected from the "
            "app's Home tab, an admin connects it again there)."
        )
    if isinstance(error, NotConnected):
        return (
            ":electric_plug: BIK isn't connected in this workspace yet. "
            "An admin can connect it from the Home tab."
        )
    if isinstance(error, WrongAddress):
        return ":wrench: The bot's BIK API address is wrong. An admin must fix `BIK_API_BASE_URL`."
    if isinstance(error, TimedOut):
        return f":hourglass: BIK did not answer in time for {label}. Try again in a minute."
    if isinstance(error, Unavailable):
        return f":warning: BIK is unavailable (looking up {label}). Try again in a minute."
    if isinstance(error, Unexpected):
        return (
            f":warning: Unexpected answer from BIK for {label}. Try again; if it keeps happening, "
            "the details are in the bot's log."
        )
    return f":warning: The lookup of {label} failed. Try again in a minute."


def _error_plain(failed: Failed, view: View) -> str:
    text = error_text(failed, view)
    for emoji in (":mag: ", ":no_entry: ", ":lock: ", ":wrench: ", ":hourglass: ", ":warning: "):
        text = text.removeprefix(emoji)
    return text


# -- whole messages --------------------------------------------------------------------------------


def _inline_address_budget(card_count: int) -> int:
    return 5 if card_count <= 1 else 2 if card_count <= 3 else 1


def _footer(view: View) -> Block:
    # A shared card names who shared it: the original asker is not taken from the click's payload.
    parts = [f"Shared by <@{view.shared_by}>" if view.shared_by else f"Looked up by <@{view.requester_id}>"]
    if view.fetched_at is not None:
        parts.append("data as of " + slack_date(view.fetched_at))
    if view.masked:
        fields = " and ".join(sorted(view.masked))
        parts.append(f":lock: {fields} masked in this channel")
    return {"type": "context", "elements": [mrkdwn(" · ".join(parts))]}


def _fallback(results: Sequence[Result], view: View) -> str:
    """Notification and screen-reader text: names and ids (sanitised, escaped), or the error lines."""
    lines = []
    for result in results:
        if isinstance(result, Found):
            c = result.customer
            ids = ", ".join(
                f"{k} {i}" for k, i in (("BIK id", c.id), ("partner id", c.partner_customer_id)) if i
            )
            lines.append(defang(esc(f"{customer_name(c)} ({cut(sanitise(ids), 300)})")))
        else:
            lines.append(_error_plain(result, view))
    head = "BIK customer: " if len(results) == 1 and isinstance(results[0], Found) else ""
    return cut(head + "; ".join(lines), MAX_FALLBACK)


def lookup_message(results: Sequence[Result], view: View) -> Message:
    """The one final reply to a command: a card per customer, a line per failure, a footer.

    Every card has Refresh and every retryable error (:data:`RETRYABLE`) a Try again button (the
    error section's accessory, so it costs no block); both carry :func:`message_value` and re-run
    the whole message. Neither appears with ``view.refresh`` off or nothing to carry."""
    cards = sum(isinstance(r, Found) for r in results)
    budget = _inline_address_budget(cards)
    again = message_value(results, view) if view.refresh else None
    # Nothing to carry: no card may fall back to refreshing itself alone.
    card_view = view if again is not None else replace(view, refresh=False)
    blocks: list[Block] = []
    for result in results:
        if blocks:
            blocks.append({"type": "divider"})
        if isinstance(result, Found):
            blocks.extend(customer_blocks(result, card_view, inline_addresses=budget, refresh_value=again))
        else:
            blocks.append(_error_block(result, view, again))
    blocks.append(_footer(view))
    return {"response_type": view.response_type, "text": _fallback(results, view), "blocks": _fit(blocks)}


def _error_block(failed: Failed, view: View, again: str | None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(error_text(failed, view))}
    if again is not None and isinstance(failed.error, RETRYABLE):
        block["accessory"] = _button("Try again", ACTION_RETRY, value=again)
    return block


def _fit(blocks: list[Block], limit: int = MAX_BLOCKS) -> list[Block]:
    if len(blocks) <= limit:
        return blocks
    note = {"type": "context", "elements": [mrkdwn("_Shortened to fit in one Slack message._")]}
    return [*blocks[: limit - 2], note, blocks[-1]]


def text_message(text: str, *, response_type: str = "ephemeral") -> Message:
    """A short message (help, invalid input, denial) — ``text`` is trusted mrkdwn of ours."""
    return {
        "response_type": response_type,
        "text": cut(_strip_emoji(text), MAX_FALLBACK),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION_TEXT)}}],
    }


def _strip_emoji(text: str) -> str:
    return text.split(" ", 1)[1] if text.startswith(":") and " " in text else text


def help_message() -> Message:
    return {
        "response_type": "ephemeral",
        "text": "How to use /bik-customer",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Look up a BIK customer*\n" + USAGE}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "Replies are visible only to you unless this channel is set up otherwise.",
                    }
                ],
            },
        ],
    }


def invalid_message(problem: str) -> Message:
    return {
        "response_type": "ephemeral",
        "text": cut(problem, MAX_FALLBACK),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f":x: {cut(problem, 2500)}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(USAGE, MAX_SECTION_TEXT)}]},
        ],
    }


def pending_message() -> Message:
    return text_message(":hourglass_flowing_sand: BIK is slow to answer; the card will appear here shortly.")


# -- modal -----------------------------------------------------------------------------------------


def addresses_modal(customer: Customer, *, masked: Iterable[str] = ()) -> dict[str, Any]:
    """Every address of one customer, up to the modal's block limit."""
    masked = frozenset(masked)
    addresses = customer.addresses_default_first
    room = MAX_MODAL_BLOCKS - 2
    blocks: list[Block] = [{"type": "section", "text": mrkdwn(f"*{esc(customer_name(customer))}*")}]
    for index, address in enumerate(addresses[:room], start=1):
        title = _address_title(address, index, len(addresses))
        blocks.append({"type": "section", "text": mrkdwn(address_text(address, title, masked))})
    if len(addresses) > room:
        blocks.append(
            {
                "type": "context",
                "elements": [mrkdwn(f"+ {len(addresses) - room} more; open the customer in BIK")],
            }
        )
    elif masked:
        blocks.append({"type": "context", "elements": [mrkdwn(":lock: addresses masked in this channel")]})
    return _modal(f"Addresses ({len(addresses)})", blocks)


def notice_modal(title: str, text: str) -> dict[str, Any]:
    return _modal(
        title, [{"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION_TEXT)}}]
    )


def _modal(title: str, blocks: list[Block]) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain(title, MAX_MODAL_TITLE),
        "close": plain("Close", MAX_MODAL_TITLE),
        "blocks": blocks[:MAX_MODAL_BLOCKS],
    }
