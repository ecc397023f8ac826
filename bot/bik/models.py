"""BIK's customer record, tolerant of the quirks its documentation shows.

- the customer sits under ``data.customer`` in the example and directly under ``data`` in the table;
- ids are numbers in the example and strings in the table: both become ``str``;
- ``"undefined"``, ``"null"``, ``null`` and blank strings mean "absent";
- unknown fields are ignored, so BIK can add fields without breaking us;
- ``tags`` may be present (strings, or objects with a name) although the table leaves them out;
- every string is passed through :func:`sanitise` on the way in (see there).

A value that cannot be understood (a date that is no date, a latitude of 200) becomes absent rather
than failing the whole lookup; a record of the wrong *shape* (a list where an object belongs) fails
with :class:`UnexpectedShape`, which the client reports as "unexpected answer from BIK".
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

_ABSENT = {"", "undefined", "null", "none", "nan"}

# Folded to one space: C0 and C1 controls (newline, carriage return, tab, NEL, DEL...) and Unicode's
# line and paragraph separators. Removed: Unicode's Bidi_Control set (embeddings, overrides,
# isolates and the LRM, RLM and ALM marks). Replaced: lone surrogates, which no UTF-8 can carry.
_FOLD = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def sanitise(value: str) -> str:
    """A value from BIK made safe to lay out: one line, in the direction its letters give it.

    A newline could fake a labelled line inside a card's field ("*Phone*" under the real label) and
    a right-to-left override could make a header or a notification read differently from the data.
    Line breaks and every other control character become a space (a run of them, one space); the
    bidi controls are removed. The marks (LRM, RLM, ALM) go too: they are invisible, letters carry
    their own direction, and without a mark at most a neutral character (a bracket, a dash at the
    edge of a right-to-left name) can sit on the other side of the word. Everything else stays,
    zero-width joiners included (Indic scripts and emoji sequences need them), so Arabic, Hindi
    or CJK names are untouched, and a string without these characters is returned unchanged.
    """
    if value.isprintable():  # the usual case, at C speed: no control, format or separator character
        return value
    return _SURROGATE.sub("\ufffd", _FOLD.sub(" ", _BIDI.sub("", value)))


class UnexpectedShape(ValueError):
    """The body is JSON but not a customer record we can read."""


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if isinstance(value, str):
        stripped = sanitise(value).strip()
        return None if stripped.lower() in _ABSENT else stripped
    raise ValueError("expected a string")


def _when(value: Any) -> datetime | None:
    text = _text(value) if not isinstance(value, int | float) or isinstance(value, bool) else None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if value > 1e11 else value  # epoch millis or seconds
            return datetime.fromtimestamp(seconds, tz=UTC)
        if text is None:
            return None
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _coordinate(limit: float) -> Any:
    def parse(value: Any) -> float | None:
        if value is None or isinstance(value, bool):
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return number if math.isfinite(number) and -limit <= number <= limit else None

    return parse


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value) if isinstance(value, bool | int) else False


def _list(value: Any) -> Any:
    return [] if value is None or value == "undefined" else value


def _tags(value: Any) -> list[str]:
    if value is None or not isinstance(value, list):
        return []
    names: list[str] = []
    for item in value:
        if isinstance(item, dict):
            item = next((item[k] for k in ("name", "tag", "label", "title", "value") if k in item), None)
        try:
            name = _text(item)
        except ValueError:
            name = None
        if name:
            names.append(name)
    return names


Text = Annotated[str | None, BeforeValidator(_text)]
When = Annotated[datetime | None, BeforeValidator(_when)]
Latitude = Annotated[float | None, BeforeValidator(_coordinate(90))]
Longitude = Annotated[float | None, BeforeValidator(_coordinate(180))]
Flag = Annotated[bool, BeforeValidator(_flag)]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True, strict=False
    )


class Address(_Model):
    partner_address_id: Text = None
    address_id: Text = None
    address1: Text = None
    address2: Text = None
    city: Text = None
    state: Text = None
    state_code: Text = None
    zip: Text = None
    country: Text = None
    country_code: Text = None
    latitude: Latitude = None
    longitude: Longitude = None
    timezone: Text = None
    first_name: Text = None
    last_name: Text = None
    phone_number: Text = None
    email: Text = None
    is_default: Flag = False

    @property
    def contact_name(self) -> str | None:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or None


class Asset(_Model):
    id: Text = None
    created_at: When = None
    asset_name: Text = None
    asset_value: Text = None
    country_code: Text = None

    @property
    def is_email(self) -> bool:
        return (self.asset_name or "").upper() == "EMAIL"

    @property
    def is_phone(self) -> bool:
        return (self.asset_name or "").upper() in {"PHONE_NUMBER", "PHONE"}


class Customer(_Model):
    id: Text = None
    partner_customer_id: Text = None
    first_name: Text = None
    last_name: Text = None
    phone_number: Text = None
    email: Text = None
    country_code: Text = None
    created_at: When = None
    updated_at: When = None
    addresses: Annotated[list[Address], BeforeValidator(_list)] = []
    assets: Annotated[list[Asset], BeforeValidator(_list)] = []
    tags: Annotated[list[str], BeforeValidator(_tags)] = []

    @property
    def full_name(self) -> str | None:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or None

    @property
    def addresses_default_first(self) -> list[Address]:
        return sorted(self.addresses, key=lambda a: not a.is_default)


def parse_customer(body: Any) -> Customer:
    """The customer inside a successful ``get`` response body."""
    if not isinstance(body, dict):
        raise UnexpectedShape("body is not an object")
    data = body.get("data")
    if isinstance(data, dict) and isinstance(data.get("customer"), dict):
        data = data["customer"]
    if not isinstance(data, dict):
        raise UnexpectedShape("no customer object in data")
    try:
        customer = Customer.model_validate(data)
    except ValidationError as exc:
        # Only field locations, never values: the body holds PII.
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:3])
        raise UnexpectedShape(f"customer fields of the wrong type: {where}") from None
    if customer.id is None and customer.partner_customer_id is None:
        raise UnexpectedShape("customer has neither id nor partnerCustomerId")
    return customer
