"""Masking of customer PII (SPEC section 5), applied once, to the model, before anything is rendered.

Because the masked :class:`Customer` replaces the real one before the card, its fallback text, its
buttons or any modal are built, no masked value can reach Slack: the renderer never sees it.

- phone ``+919090909090`` -> ``+91******9090``: the country prefix (2 digits, numbers of 12+ digits
  only) and the last four (10+ digits; the last two for 6-9 digits; none below), so at least half of
  the digits are always hidden, and what is shown never depends on the hidden digits;
- email ``test.2@bik.ai`` -> ``t***@bik.ai``: the first character of the local part only;
- address -> city, state and country; street, zip, coordinates and the contact on it are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.bik.models import Address, Asset, Customer

_NON_DIGIT = re.compile(r"\D")


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


def _looks_like_phone(value: str) -> bool:
    return len(_NON_DIGIT.sub("", value)) >= 6 and "@" not in value


def _mask_asset(asset: Asset, fields: frozenset[str]) -> Asset:
    value = asset.asset_value
    if value is None:
        return asset
    if "email" in fields and (asset.is_email or "@" in value):
        return asset.model_copy(update={"asset_value": mask_email(value)})
    if "phone" in fields and (asset.is_phone or (not asset.is_email and _looks_like_phone(value))):
        return asset.model_copy(update={"asset_value": mask_phone(value)})
    return asset


def _mask_address(address: Address, fields: frozenset[str]) -> Address:
    if "address" in fields:
        return Address(
            city=address.city,
            state=address.state,
            state_code=address.state_code,
            country=address.country,
            country_code=address.country_code,
            is_default=address.is_default,
        )
    update: dict[str, str | None] = {}
    if "phone" in fields and address.phone_number:
        update["phone_number"] = mask_phone(address.phone_number)
    if "email" in fields and address.email:
        update["email"] = mask_email(address.email)
    return address.model_copy(update=update) if update else address


def mask_customer(customer: Customer, fields: Iterable[str]) -> Customer:
    """A copy of ``customer`` with ``fields`` (phone, email, address) masked everywhere they occur."""
    wanted = frozenset(fields)
    if not wanted:
        return customer
    update: dict[str, object] = {
        "addresses": [_mask_address(a, wanted) for a in customer.addresses],
        "assets": [_mask_asset(a, wanted) for a in customer.assets],
    }
    if "phone" in wanted and customer.phone_number:
        update["phone_number"] = mask_phone(customer.phone_number)
    if "email" in wanted and customer.email:
        update["email"] = mask_email(customer.email)
    return customer.model_copy(update=update)
