"""Masking of customer PII (SPEC section 5), applied once, to the model, before anything is rendered.

Because the masked :class:`Customer` replaces the real one before the card, its fallback text, its
buttons or any modal are built, no masked value can reach Slack: the renderer never sees it.

The formats:

- phone ``+919090909090`` -> ``+91******9090``: the country prefix (2 digits, numbers of 12+ digits
  only) and the last four (10+ digits; the last two for 6-9 digits; none below), so at least half of
  the digits are always hidden, and what is shown never depends on the hidden digits;
- email ``test.2@bik.ai`` -> ``t***@bik.ai``: the first character of the local part only;
- address -> city, state and country; street, zip, coordinates and the contact on it are dropped.

What is masked: by label *and* by content. The labelled fields (the phone and email of the customer
and of each address, phone and email assets) are masked whole. Then, because BIK data is typed by
people (a store that uses phone numbers as customer ids, an email typed into a tag), every other
string of the record (partner id, names, tags, address lines, city, asset values, codes; every
string field, including ones BIK adds later) is searched, and what *looks like* a phone or an
email is masked in place with the same formats:

- **phone-looking**: an optional ``+``, then 7 or more digits (any Unicode decimal digits), where
  consecutive digits may be separated by any run of spaces, ``.``, ``-`` (and the Unicode dashes),
  ``(`` or ``)``: ``+91 (98765) 43210``, ``98765 - 43210``, ``1234567``. Not phone-looking: fewer
  than 7 digits (``Apt 12``, a 6-digit PIN code ``560102``, ``abcd-122345``), digits separated by
  anything else (``12, 34``, ``12/03/2024``, ``v1.2.3``) and a run that is exactly an ISO date
  (``2024-08-09``). Any longer run of digits is masked whole, phone or not (a 13-digit store id
  shows as ``66*******3456``): in a masked channel a false alarm costs a little legibility, a miss
  costs a customer's number.
- **email-looking**: one or more characters other than whitespace and ``@ < > ( ) [ ] , ; : "``,
  then ``@`` and more of them, the ``@…`` part repeated any number of times (``a@b@c.d`` is one
  match, masked on its last ``@``). No dot is required in the domain.

With "phone" masked, phone-looking runs are masked wherever they are, inside an unmasked email too
(``9876543210@x.com`` -> ``******3210@x.com``); with "email" masked, email-looking text is masked
wherever it is. Masking twice changes nothing; after phone masking no phone-looking run is left
(so no 7 digits in a row), and after email masking every email-looking text is in the masked form.

Not masked by content: BIK's own ids (``id`` of the customer, an address and an asset), which are
BIK's keys, not contact data (the card's "BIK id", the ``bik:`` button values); a phone or email
split over two values, spelled out or obfuscated ("nine eight seven…", "a at b dot com"); and
addresses: nothing can tell an address typed into a tag, so "address" masks the address records
only. Dates and coordinates are not strings of the record and are never searched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from pydantic import BaseModel

from bot.bik.models import Address, Asset, Customer

CONTACTS = frozenset({"phone", "email"})
"""The fields whose values can stand anywhere in text (a partner id, a tag): masked by content."""

_NON_DIGIT = re.compile(r"\D")
_SEPARATOR = r"[\s().\-\u2010-\u2015\u2212]"
_PHONE = re.compile(rf"\+?\d(?:{_SEPARATOR}*\d){{6,}}")
_ISO_DATE = re.compile(r"(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])")
_EMAIL_PART = r"[^\s@<>()\[\],;:\"]+"
_EMAIL = re.compile(rf"{_EMAIL_PART}(?:@{_EMAIL_PART})+")

# BIK's own keys: never contact data, shown (the customer's) as the card's "BIK id".
_BIK_IDS = frozenset({"id", "address_id"})

M = TypeVar("M", bound=BaseModel)


def mask_phone(value: str) -> str:
    digits = _NON_DIGIT.sub("", value)
    plus = "+" if value.lstrip().startswith("+") else ""
    n = len(digits)
    if n >= 12:
        return f"{plus}{digits[:2]}{'*' * (n - 6)}{digits[-4:]}"
    if n >= 10:
        return f"{plus}{'*' * (n - 4)}{digits[-4:]}"
    if n >= 6:
        return f"{plus}{'*' * (n - 2)}{digits[-2:]}"
    return "*" * max(n, 4)


def mask_email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return "***"
    shown = local[0] if len(local) > 1 and local[0].isalnum() else ""
    return f"{shown}***@{domain}"


def _is_phone(match: re.Match[str]) -> bool:
    return _ISO_DATE.fullmatch(match.group()) is None


def find_phones(text: str) -> list[str]:
    """The phone-looking runs in ``text`` (see the module's docstring)."""
    return [m.group() for m in _PHONE.finditer(text) if _is_phone(m)]


def find_emails(text: str) -> list[str]:
    """The email-looking substrings of ``text`` (see the module's docstring)."""
    return _EMAIL.findall(text)


def mask_text(text: str, fields: Iterable[str]) -> str:
    """``text`` with whatever looks like a phone or an email masked, for the masked ``fields``."""
    wanted = frozenset(fields)
    if "email" in wanted and "@" in text:
        text = _EMAIL.sub(lambda m: mask_email(m.group()), text)
    if "phone" in wanted:
        text = _PHONE.sub(lambda m: mask_phone(m.group()) if _is_phone(m) else m.group(), text)
    return text


def _looks_like_phone(value: str) -> bool:
    return len(_NON_DIGIT.sub("", value)) >= 6 and "@" not in value


def _mask_strings(model: M, fields: frozenset[str], whole: dict[str, Callable[[str], str]]) -> M:
    """Every string field of ``model`` masked by content; those in ``whole`` first masked whole."""
    update: dict[str, str] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if not isinstance(value, str) or name in _BIK_IDS:
            continue
        masked = mask_text(whole[name](value) if name in whole else value, fields)
        if masked != value:
            update[name] = masked
    return model.model_copy(update=update) if update else model


def _labelled(fields: frozenset[str]) -> dict[str, Callable[[str], str]]:
    whole: dict[str, Callable[[str], str]] = {}
    if "phone" in fields:
        whole["phone_number"] = mask_phone
    if "email" in fields:
        whole["email"] = mask_email
    return whole


def _mask_asset(asset: Asset, fields: frozenset[str]) -> Asset:
    value = asset.asset_value
    whole: dict[str, Callable[[str], str]] = {}
    if value is not None:
        # An asset is a contact by nature: one of an unknown type is masked whole on a hint.
        if "email" in fields and (asset.is_email or "@" in value):
            whole["asset_value"] = mask_email
        elif "phone" in fields and (asset.is_phone or (not asset.is_email and _looks_like_phone(value))):
            whole["asset_value"] = mask_phone
    return _mask_strings(asset, fields, whole)


def _mask_address(address: Address, fields: frozenset[str]) -> Address:
    if "address" in fields:
        address = Address(
            city=address.city,
            state=address.state,
            state_code=address.state_code,
            country=address.country,
            country_code=address.country_code,
            is_default=address.is_default,
        )
    return _mask_strings(address, fields, _labelled(fields))


def mask_customer(customer: Customer, fields: Iterable[str]) -> Customer:
    """A copy of ``customer`` with ``fields`` (phone, email, address) masked everywhere they occur:
    by label, and by content in every other string of the record."""
    wanted = frozenset(fields)
    if not wanted:
        return customer
    masked = _mask_strings(customer, wanted, _labelled(wanted))
    return masked.model_copy(
        update={
            "addresses": [_mask_address(a, wanted) for a in customer.addresses],
            "assets": [_mask_asset(a, wanted) for a in customer.assets],
            "tags": [mask_text(t, wanted) for t in customer.tags],
        }
    )
