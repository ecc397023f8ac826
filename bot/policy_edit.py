"""Editing a workspace's access policy one rule at a time (SPEC 11): the Home tab's *Edit a rule* form
and *Edit as TOML*, in plain Python — no Slack here.

A policy is stored as the section 5 TOML document. An edit reads that document, changes one table —
``[defaults]``, ``[direct_messages]`` or ``[channels.<id>]`` — and writes the document again with
``tomli_w``; every other table, and every key of the edited table the form does not own, is kept as it
was. :meth:`bot.workspaces.WorkspaceStore.save_policy` then validates the result exactly like the
policy file, so a form can never store what the file would refuse.

A form field is either *set* (the key is written with that value) or *inherit* (``None`` here: the key
is left out, so the rule takes it from ``[defaults]``, or, for ``[defaults]`` itself, from the
built-in default). Nothing the admin left at *inherit* is ever written out as a value.

Every edit comes with a one-line summary of what changed — ``channels.C123: allow false→true,
mask +phone`` — which the store keeps in the change row (the audit trail, SPEC 11).

Rewriting the document with ``tomli_w`` drops its comments and layout; :func:`rewrites_layout` says
whether a document would lose anything that way, so the form can warn first.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import tomli_w

from bot.access import Policy, PolicyError, Rule

DEFAULTS = "defaults"
DIRECT_MESSAGES = "direct_messages"
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
"""A channel's key in ``[channels]``, as :mod:`bot.access` accepts it."""
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
MASK_FIELDS = ("phone", "email", "address")
REPLIES = ("ephemeral", "in_channel")
MAX_LIST = 500
"""At most this many users or user groups in one rule: a form cannot send more (and no team needs it)."""
MAX_SUMMARY = 500
"""The change row keeps this much of a summary (bot.workspaces)."""

# The keys a rule's form owns, in the order a new table writes them.
KEYS = ("allow", "reply", "share", "mask", "guests", "users", "usergroups", "unfurl", "external_unmasked")
BOOL_KEYS = ("allow", "share", "guests", "unfurl", "external_unmasked")
LIST_KEYS = ("mask", "users", "usergroups")


class EditError(ValueError):
    """The form or the stored document cannot make a valid edit; ``field`` names the form field at
    fault (``None``: the whole edit), and the message is one line fit to show an admin."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class RuleForm:
    """What the *Edit a rule* form says about one table; ``None`` everywhere means *inherit*."""

    allow: bool | None = None
    reply: str | None = None
    share: bool | None = None
    mask: tuple[str, ...] | None = None
    guests: bool | None = None
    users: tuple[str, ...] | None = None
    usergroups: tuple[str, ...] | None = None
    unfurl: bool | None = None
    external_unmasked: bool | None = None
    remove: bool = False
    """Delete this channel's table (``[defaults]`` and ``[direct_messages]`` cannot be removed)."""

    def values(self) -> dict[str, Any]:
        """The keys this form sets, as TOML values (lists as lists)."""
        out: dict[str, Any] = {}
        for key in KEYS:
            value = getattr(self, key)
            if value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True, slots=True)
class Edit:
    document: str
    summary: str
    changed: bool


# -- targets -----------------------------------------------------------------------------------------


def check_target(target: str) -> str:
    """``defaults``, ``direct_messages`` or a channel id; anything else raises :class:`EditError`."""
    if target in (DEFAULTS, DIRECT_MESSAGES) or (isinstance(target, str) and CHANNEL_ID.match(target)):
        return target
    raise EditError("pick [defaults], [direct_messages] or a channel", field="target")


def table_name(target: str) -> str:
    """How the summary and the form name a target: ``defaults``, ``channels.C123``."""
    return target if target in (DEFAULTS, DIRECT_MESSAGES) else f"channels.{target}"


# -- reading the stored document ---------------------------------------------------------------------


def parse(document: str | None) -> dict[str, Any]:
    """The stored document as a mapping (no policy yet: empty). Not valid TOML raises :class:`EditError`
    (a stored policy is validated when saved; only a hand-edited row gets here)."""
    if not document:
        return {}
    try:
        return tomllib.loads(document)
    except tomllib.TOMLDecodeError as exc:
        raise EditError(f"the stored policy is not valid TOML ({exc}): fix it with Edit as TOML") from None


def entry_of(data: Mapping[str, Any], target: str) -> dict[str, Any] | None:
    """The table of ``target`` in a parsed document, or None when the document has none."""
    if target in (DEFAULTS, DIRECT_MESSAGES):
        table = data.get(target)
    else:
        channels = data.get("channels")
        table = channels.get(target) if isinstance(channels, dict) else None
    return dict(table) if isinstance(table, dict) else None


def inherited(document: str | None, target: str) -> Rule:
    """What ``target`` takes for every key it leaves out: ``[defaults]`` in force for a channel or
    direct messages, the built-in rule for ``[defaults]`` itself. An invalid stored document raises
    :class:`EditError` (the form cannot say what a rule inherits from a policy that does not load)."""
    if target == DEFAULTS:
        return Rule(source="built-in")
    try:
        policy = Policy.from_toml(document or "", source="stored")
    except PolicyError as exc:
        problem = _after_source(str(exc))
        raise EditError(f"the stored policy is invalid ({problem}): fix it with Edit as TOML") from None
    return policy.defaults


def form_of(entry: Mapping[str, Any] | None) -> RuleForm:
    """The form as a table stands: each key it sets, and *inherit* for the rest (the form's prefill)."""
    entry = entry or {}
    values: dict[str, Any] = {}
    for key in KEYS:
        if key not in entry:
            continue
        value = entry[key]
        values[key] = tuple(value) if isinstance(value, list) else value
    return RuleForm(**values)


def rewrites_layout(document: str | None) -> bool:
    """Would writing this document back through ``tomli_w`` lose comments or layout?"""
    if not document:
        return False
    try:
        return tomli_w.dumps(tomllib.loads(document)) != document
    except tomllib.TOMLDecodeError:
        return True


# -- what a form says -----------------------------------------------------------------------------------

PEOPLE_INHERIT = "inherit"
PEOPLE_ANYONE = "anyone"
PEOPLE_ONLY = "only"
PEOPLE_MODES = (PEOPLE_INHERIT, PEOPLE_ANYONE, PEOPLE_ONLY)


def people_mode(entry: Mapping[str, Any] | None, base: Rule) -> str:
    """How the form's *Who may run it* shows a table: *inherit* when it sets neither ``users`` nor
    ``usergroups``, *anyone* when what it sets (with what it inherits) lists nobody, else *only*."""
    entry = entry or {}
    if "users" not in entry and "usergroups" not in entry:
        return PEOPLE_INHERIT
    users = entry.get("users", sorted(base.users))
    groups = entry.get("usergroups", sorted(base.usergroups))
    return PEOPLE_ONLY if users or groups else PEOPLE_ANYONE


def people_shown(entry: Mapping[str, Any] | None, base: Rule) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The users and user groups the form shows: the table's own, else what it inherits."""
    entry = entry or {}
    users = entry.get("users", sorted(base.users))
    groups = entry.get("usergroups", sorted(base.usergroups))
    return tuple(users), tuple(groups)


def people(
    mode: str | None,
    users: Sequence[str],
    groups: Sequence[str],
    *,
    entry: Mapping[str, Any] | None,
    base: Rule,
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """``users`` and ``usergroups`` from the form's *Who may run it*:

    - *inherit*: neither key is written;
    - *anyone*: both are written empty (a ``[defaults]`` restriction no longer applies here);
    - *only*: the people and groups picked (at least one). A key the table leaves out stays out when
      the form shows it unchanged from what it inherits, so only what the admin changed is pinned.
    """
    if mode in (None, PEOPLE_INHERIT):
        return None, None
    if mode == PEOPLE_ANYONE:
        return (), ()
    if mode != PEOPLE_ONLY:
        raise EditError("choose who may run it", field="people")
    picked_users = tuple(dict.fromkeys(users))
    picked_groups = tuple(dict.fromkeys(groups))
    if not picked_users and not picked_groups:
        raise EditError("pick at least one person or user group, or choose Anyone", field="users")
    for user in picked_users:
        if not USER_ID.match(user):
            raise EditError(f"{user[:40]!r} is not a user id (U… or W…)", field="users")
    if len(picked_users) > MAX_LIST:
        raise EditError(f"at most {MAX_LIST} people", field="users")
    if len(picked_groups) > MAX_LIST:
        raise EditError(f"at most {MAX_LIST} user groups", field="usergroups")
    entry = entry or {}
    out_users: tuple[str, ...] | None = picked_users
    out_groups: tuple[str, ...] | None = picked_groups
    if "users" not in entry and set(picked_users) == set(base.users):
        out_users = None
    if "usergroups" not in entry and set(picked_groups) == set(base.usergroups):
        out_groups = None
    if out_users is None and out_groups is None:
        # Both unchanged from what it inherits: pin them anyway, or the admin's "only" reads as inherit.
        return picked_users, picked_groups
    return out_users, out_groups


_GROUP_MENTION = re.compile(r"<!subteam\^(S[A-Z0-9]+)(?:\|[^>]*)?>")


def parse_groups(text: str | None) -> tuple[str, ...]:
    """User group ids typed in a text input — ``S0123ABCD, S0456EFGH`` — separated by commas or
    spaces (a pasted ``<!subteam^S…|@team>`` is read as its id). A word that is no group id raises
    :class:`EditError` naming it."""
    if not text:
        return ()
    text = _GROUP_MENTION.sub(r" \1 ", text)
    out: list[str] = []
    for word in re.split(r"[\s,;]+", text.strip()):
        if not word:
            continue
        if not GROUP_ID.match(word):
            shown = word if len(word) <= 40 else word[:39] + "…"
            raise EditError(
                f"{shown!r} is not a user group id (S… — in Slack: the group's page, ⋮, Copy group ID)",
                field="usergroups",
            )
        out.append(word)
    if len(out) > MAX_LIST:
        raise EditError(f"at most {MAX_LIST} user groups", field="usergroups")
    return tuple(dict.fromkeys(out))


def mask_choice(ticked: Iterable[str], *, inherit: bool) -> tuple[str, ...] | None:
    """The form's *Mask* checkboxes: *inherit* (None), or exactly the ticked fields (none ticked: mask
    nothing). Ticking *inherit* and fields together is an error."""
    fields_ticked = [f for f in MASK_FIELDS if f in set(ticked)]
    unknown = set(ticked) - set(MASK_FIELDS)
    if unknown:
        raise EditError(f"unknown mask field {sorted(unknown)[0][:20]!r}", field="mask")
    if inherit:
        if fields_ticked:
            raise EditError("untick Inherit to choose the fields, or untick the fields", field="mask")
        return None
    return tuple(fields_ticked)


def tri_state(value: str | None, *, key: str) -> bool | None:
    """A yes / no / inherit select: ``"true"``, ``"false"``, or ``"inherit"`` (or nothing chosen)."""
    if value in (None, "", "inherit"):
        return None
    if value == "true":
        return True
    if value == "false":
        return False
    raise EditError(f"choose yes, no or inherit for {key}", field=key)


def reply_choice(value: str | None) -> str | None:
    if value in (None, "", "inherit"):
        return None
    if value in REPLIES:
        return value
    raise EditError("choose ephemeral, in_channel or inherit", field="reply")


# -- the edit ----------------------------------------------------------------------------------------------


def apply_form(document: str | None, target: str, form: RuleForm) -> Edit:
    """The stored ``document`` with ``target``'s table set as ``form`` says, and what changed.

    Keys the form owns are written when set and removed when *inherit*; anything else in the
    document — other tables, their keys and order — stays as it was. ``form.remove`` deletes a
    channel's table. Lists that hold the same items as before keep their stored order. The result is
    not validated here: :meth:`bot.workspaces.WorkspaceStore.save_policy` does that, like the file."""
    check_target(target)
    data = parse(document)
    new = _copy(data)
    if form.remove:
        if target in (DEFAULTS, DIRECT_MESSAGES):
            raise EditError(f"[{target}] cannot be removed; set its keys to inherit instead", field="remove")
        channels = new.get("channels")
        if isinstance(channels, dict):
            channels.pop(target, None)
            if not channels:
                new.pop("channels")
    else:
        old_entry = entry_of(data, target) or {}
        entry = dict(old_entry)
        for key in KEYS:
            value = getattr(form, key)
            if value is None:
                entry.pop(key, None)
            elif isinstance(value, tuple):
                before = old_entry.get(key)
                same = isinstance(before, list) and sorted(map(str, before)) == sorted(value)
                entry[key] = list(before) if same and isinstance(before, list) else list(value)
            else:
                entry[key] = value
        if entry or entry_of(data, target) is not None:  # an all-inherit form adds no empty table
            _place(new, target, entry)
    text = tomli_w.dumps(new)
    summary = describe_changes(data, new)
    return Edit(document=text, summary=summary, changed=summary != NO_CHANGE)


def _copy(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out[key] = _copy(value)
        elif isinstance(value, list):
            out[key] = list(value)
        else:
            out[key] = value
    return out


def _place(data: dict[str, Any], target: str, entry: dict[str, Any]) -> None:
    if target in (DEFAULTS, DIRECT_MESSAGES):
        data[target] = entry
        return
    channels = data.get("channels")
    if not isinstance(channels, dict):
        channels = data["channels"] = {}
    channels[target] = entry


# -- what changed -----------------------------------------------------------------------------------------

NO_CHANGE = "no change"


def _tables(data: Mapping[str, Any]) -> dict[str, dict[str, Any] | None]:
    out: dict[str, dict[str, Any] | None] = {}
    for name in (DEFAULTS, DIRECT_MESSAGES):
        if name in data:
            value = data[name]
            out[name] = dict(value) if isinstance(value, dict) else None
    channels = data.get("channels")
    if isinstance(channels, dict):
        for cid, value in channels.items():
            out[f"channels.{cid}"] = dict(value) if isinstance(value, dict) else None
    for name, value in data.items():  # anything else (the store refuses it; shown if it is there)
        if name not in (DEFAULTS, DIRECT_MESSAGES, "channels"):
            out[name] = dict(value) if isinstance(value, dict) else {"=": value}
    return out


def _shown(value: Any) -> str:
    if value is None:
        return "inherit"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{…}"
    return str(value)


def _key_change(key: str, before: Any, after: Any) -> str | None:
    if before == after:
        return None
    if isinstance(before, list) and isinstance(after, list):
        if sorted(map(str, before)) == sorted(map(str, after)):
            return None
        added = [str(x) for x in after if x not in before]
        removed = [str(x) for x in before if x not in after]
        parts = [f"+{x}" for x in dict.fromkeys(added)] + [f"-{x}" for x in dict.fromkeys(removed)]
        return f"{key} " + " ".join(parts)
    return f"{key} {_shown(before)}→{_shown(after)}"


def describe_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """One line naming every change from ``old`` to ``new`` (parsed documents), table by table:
    ``channels.C1: allow false→true, mask +phone; channels.C2: rule removed``; ``no change`` when
    there is none. Cut to :data:`MAX_SUMMARY` characters, counting what did not fit."""
    before, after = _tables(old), _tables(new)
    parts: list[str] = []
    for name in list(dict.fromkeys([*before, *after])):
        if name not in after:
            parts.append(f"{name}: rule removed")
            continue
        a = before.get(name) or {}
        b = after[name] or {}
        keys = dict.fromkeys([*a, *b])
        changes = [c for key in keys if (c := _key_change(key, a.get(key), b.get(key))) is not None]
        if name not in before:
            settings = ", ".join(f"{k} {_shown(v)}" for k, v in b.items())
            parts.append(f"{name}: new rule" + (f", {settings}" if settings else ""))
        elif changes:
            parts.append(f"{name}: " + ", ".join(changes))
    if not parts:
        return NO_CHANGE
    return _fit(parts)


def _fit(parts: Sequence[str]) -> str:
    text = "; ".join(parts)
    if len(text) <= MAX_SUMMARY:
        return text
    out: list[str] = []
    for index, part in enumerate(parts):
        tail = f"; and {len(parts) - index} more changes"
        candidate = "; ".join([*out, part])
        if len(candidate) + len(tail) > MAX_SUMMARY:
            if not out:
                return part[: MAX_SUMMARY - len(tail) - 1] + "…" + tail
            return "; ".join(out) + tail
        out.append(part)
    return "; ".join(out)


def describe_documents(old: str | None, new: str) -> str:
    """:func:`describe_changes` for two documents (Edit as TOML): ``new`` must parse; an ``old`` that
    does not (a hand-edited row) counts as replaced whole."""
    try:
        before = parse(old)
    except EditError:
        return "policy replaced (the stored one was not valid TOML)"
    return describe_changes(before, parse(new))


# -- reading a policy for people ----------------------------------------------------------------------------


def _after_source(message: str) -> str:
    """A :class:`~bot.access.PolicyError` message without its ``access policy <source>: `` prefix."""
    head, sep, rest = message.partition(": ")
    return rest if sep and head.startswith("access policy") else message


def policy_problem(message: str) -> str:
    """A :class:`~bot.access.PolicyError` message as an admin reads it in a form: the key and what is
    wrong with it, without the name of the stored document."""
    return _after_source(message)


def form_fields() -> tuple[str, ...]:
    """The names of :class:`RuleForm`'s fields (for tests and the view's block ids)."""
    return tuple(f.name for f in fields(RuleForm))
