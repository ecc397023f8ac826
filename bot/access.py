"""The per-channel access policy (SPEC section 5): TOML file -> rules -> a decision. Pure: no I/O
beyond reading the file; Slack facts (is the channel shared, is the user a guest, which groups is
the user in) are gathered by the caller and passed in.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

MaskField = Literal["phone", "email", "address"]
ALL_FIELDS: frozenset[str] = frozenset({"phone", "email", "address"})
ReplyMode = Literal["ephemeral", "in_channel"]

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
UserId = Annotated[str, StringConstraints(pattern=r"^[UW][A-Z0-9]{2,}$")]
GroupId = Annotated[str, StringConstraints(pattern=r"^S[A-Z0-9]{2,}$")]


class PolicyError(Exception):
    """The policy file cannot be used; the message names the file and the key."""


class Entry(BaseModel):
    """One table of the file. ``None`` means "not set here": inherit from ``[defaults]``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    allow: bool | None = None
    reply: ReplyMode | None = None
    share: bool | None = None
    mask: list[MaskField] | None = None
    guests: bool | None = None
    users: list[UserId] | None = None
    usergroups: list[GroupId] | None = None
    external_unmasked: bool | None = None
    unfurl: bool | None = None


class PolicyDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    defaults: Entry = Field(default_factory=Entry)
    direct_messages: Entry | None = None
    channels: dict[str, Entry] = Field(default_factory=dict)

    @field_validator("channels")
    @classmethod
    def _channel_ids(cls, channels: dict[str, Entry]) -> dict[str, Entry]:
        for key in channels:
            if not _CHANNEL_ID.match(key):
                raise ValueError(f"[channels.{key}]: use the channel id (like C0123ABCD), not its name")
        return channels


@dataclass(frozen=True, slots=True)
class Rule:
    """The settings in force for one channel, after inheritance."""

    source: str
    allow: bool = False
    reply: ReplyMode = "ephemeral"
    share: bool = True
    mask: frozenset[str] = frozenset()
    guests: bool = False
    users: frozenset[str] = frozenset()
    usergroups: frozenset[str] = frozenset()
    external_unmasked: bool = False
    unfurl_setting: bool | None = None
    """``unfurl`` as the file says it (inherited); None: decided by :attr:`unfurl`'s default."""

    @property
    def restricts_people(self) -> bool:
        return bool(self.users or self.usergroups)

    @property
    def unfurl(self) -> bool:
        """Are BIK links posted here unfurled (SPEC 9.3)? By default only where the channel may
        already read cards (in-channel replies or sharing): an unfurl never shows more than that."""
        if self.unfurl_setting is not None:
            return self.unfurl_setting
        return self.reply == "in_channel" or self.share

    def mask_for(self, *, visible_to_channel: bool, channel_shared: bool) -> frozenset[str]:
        """Fields to mask for a message that the whole channel (or only the asker) can read."""
        if visible_to_channel and channel_shared and not self.external_unmasked:
            return ALL_FIELDS
        return self.mask


def _inherit(source: str, base: Rule, entry: Entry | None) -> Rule:
    if entry is None:
        return replace(base, source=source)
    return Rule(
        source=source,
        allow=base.allow if entry.allow is None else entry.allow,
        reply=base.reply if entry.reply is None else entry.reply,
        share=base.share if entry.share is None else entry.share,
        mask=base.mask if entry.mask is None else frozenset(entry.mask),
        guests=base.guests if entry.guests is None else entry.guests,
        users=base.users if entry.users is None else frozenset(entry.users),
        usergroups=base.usergroups if entry.usergroups is None else frozenset(entry.usergroups),
        external_unmasked=(
            base.external_unmasked if entry.external_unmasked is None else entry.external_unmasked
        ),
        unfurl_setting=base.unfurl_setting if entry.unfurl is None else entry.unfurl,
    )


def stricter(a: Rule, b: Rule) -> Rule:
    """A rule that allows no more than either: both must allow, every mask of either applies, the
    reply is private unless both reply in the channel. Two different people restrictions cannot be
    combined into one, so they deny."""
    if a.restricts_people and b.restricts_people and (a.users, a.usergroups) != (b.users, b.usergroups):
        allow = False
    else:
        allow = a.allow and b.allow
    people = a if a.restricts_people else b
    return Rule(
        source=f"the stricter of {a.source} and {b.source}",
        allow=allow,
        reply="in_channel" if a.reply == b.reply == "in_channel" else "ephemeral",
        share=a.share and b.share,
        mask=a.mask | b.mask,
        guests=a.guests and b.guests,
        users=people.users,
        usergroups=people.usergroups,
        external_unmasked=a.external_unmasked and b.external_unmasked,
        unfurl_setting=a.unfurl and b.unfurl,
    )


def is_direct_message(channel_id: str, channel_name: str | None) -> bool:
    """Decided by the id: ``D…`` is a direct message. A group DM has a ``G…`` id (Slack names it
    ``mpdm-…``); a channel anyone can name ``directmessage`` or ``mpdm-x`` has a ``C…`` id and
    gets its own rule, never ``[direct_messages]``."""
    return channel_id.startswith("D") or (
        channel_id.startswith("G") and (channel_name or "").startswith("mpdm-")
    )


@dataclass(frozen=True)
class Policy:
    path: Path
    loaded: bool
    defaults: Rule
    direct_messages: Rule
    channels: dict[str, Rule] = field(default_factory=dict)
    version: str = "none"
    """A short hash of what the file says (not of its layout or comments): audit lines carry it."""

    @classmethod
    def load(cls, path: Path) -> Policy:
        """Read and validate the file. A missing file denies everything; a broken one raises."""
        if not path.exists():
            return cls.deny_all(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PolicyError(f"access policy {path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise PolicyError(f"access policy {path}: cannot be read: {exc.strerror}") from None
        return cls.from_mapping(data, path=path)

    @classmethod
    def from_toml(cls, text: str, *, source: str) -> Policy:
        """A policy stored as text (a workspace's, SPEC 11), validated exactly like the file;
        ``source`` names it in errors ("workspace T123")."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"access policy {source}: not valid TOML: {exc}") from None
        return cls.from_mapping(data, path=Path(source))

    @classmethod
    def from_mapping(cls, data: dict[str, object], *, path: Path) -> Policy:
        try:
            doc = PolicyDocument.model_validate(data)
        except ValidationError as exc:
            raise PolicyError(f"access policy {path}: {_describe(exc)}") from None
        defaults = _inherit("[defaults]", Rule(source="built-in"), doc.defaults)
        canonical = json.dumps(doc.model_dump(mode="json", exclude_unset=True), sort_keys=True)
        return cls(
            path=path,
            loaded=True,
            defaults=defaults,
            direct_messages=_inherit("[direct_messages]", defaults, doc.direct_messages),
            channels={cid: _inherit(f"[channels.{cid}]", defaults, e) for cid, e in doc.channels.items()},
            version=hashlib.sha256(canonical.encode()).hexdigest()[:8],
        )

    @classmethod
    def deny_all(cls, path: Path) -> Policy:
        rule = Rule(source="no policy file")
        return cls(path=path, loaded=False, defaults=rule, direct_messages=rule)

    def rule_for(self, channel_id: str, channel_name: str | None = None) -> Rule:
        if channel_id in self.channels:
            return self.channels[channel_id]
        if is_direct_message(channel_id, channel_name):
            return self.direct_messages
        if channel_id.startswith("G") and channel_name is None:
            # A G… id whose name we were not told (events, modals) may be a group DM or an old
            # private channel: the stricter of the two rules decides.
            return stricter(self.defaults, self.direct_messages)
        return self.defaults

    @property
    def allowed_channel_count(self) -> int:
        return sum(rule.allow for rule in self.channels.values())


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        key = ""
        for part in error["loc"]:
            key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "literal_error":
            message = f"{error['input']!r} is not one of " + message.removeprefix("Input should be ")
        parts.append(f"{key or 'file'}: {message}")
    return "; ".join(parts)


# -- decisions ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Facts:
    """What Slack says about the asker and the channel; gathered only when the rule needs them."""

    user_is_guest: bool = False
    user_groups: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str
    rule: Rule
    message: str = ""


def decide(policy: Policy, rule: Rule, *, channel_id: str, user_id: str, facts: Facts) -> Decision:
    """May ``user_id`` look customers up in ``channel_id``? Denials carry a message for the asker."""
    policy_name = policy.path.name
    if not rule.allow:
        if not policy.loaded:
            return Decision(False, "no_policy", rule, _not_configured(channel_id, policy_name, dm=False))
        dm = rule.source == "[direct_messages]"
        return Decision(False, "channel_not_allowed", rule, _not_configured(channel_id, policy_name, dm=dm))
    if facts.user_is_guest and not rule.guests:
        return Decision(
            False,
            "guest",
            rule,
            "Guest accounts can't look up BIK customers in this channel. "
            "Ask a full member of the workspace, or an admin to set `guests = true` for it.",
        )
    if rule.restricts_people and user_id not in rule.users and not (facts.user_groups & rule.usergroups):
        return Decision(
            False,
            "user_not_allowed",
            rule,
            "Only selected people can look up BIK customers in this channel. "
            f"Ask an admin to add your user id (`{user_id}`) or one of your user groups to its entry.",
        )
    return Decision(True, "allowed", rule)


HOME_TAB_POLICY = "the app's Home tab"
"""Where a workspace's own policy lives (distribution mode, SPEC 11): named in denials."""


def _not_configured(channel_id: str, policy_name: str, *, dm: bool) -> str:
    if policy_name == HOME_TAB_POLICY:
        where = "the access policy in this app's Home tab"
        if dm:
            return (
                "BIK customer lookups are turned off in direct messages. "
                f"An admin can turn them on in {where}."
            )
        return (
            f"This channel (`{channel_id}`) isn't allowed to look up BIK customers. An admin can allow it "
            f"in {where}."
        )
    if dm:
        return (
            "BIK customer lookups are turned off in direct messages. An admin can turn them on with "
            f"`[direct_messages]` and `allow = true` in the bot's access policy (`{policy_name}`)."
        )
    return (
        f"This channel (`{channel_id}`) isn't allowed to look up BIK customers. An admin can allow it "
        f"by adding `[channels.{channel_id}]` with `allow = true` to the bot's access policy "
        f"(`{policy_name}`)."
    )


@dataclass(frozen=True, slots=True)
class Reach:
    """Where one person may run the command (the App Home's list, SPEC 9.4)."""

    everywhere: bool
    """``[defaults]`` allows them: every channel but :attr:`except_channels`."""
    channels: tuple[str, ...]
    """Channels whose own entry allows them (when not :attr:`everywhere`)."""
    except_channels: tuple[str, ...]
    direct_messages: bool


def reach(policy: Policy, user_id: str, facts: Facts) -> Reach:
    """Every decision :func:`decide` would make for ``user_id``, channel by channel."""

    def allowed(channel_id: str, rule: Rule) -> bool:
        return decide(policy, rule, channel_id=channel_id, user_id=user_id, facts=facts).allowed

    everywhere = allowed("CANYOTHER", policy.defaults)
    entries = sorted(policy.channels.items())
    return Reach(
        everywhere=everywhere,
        channels=() if everywhere else tuple(c for c, rule in entries if allowed(c, rule)),
        except_channels=tuple(c for c, rule in entries if not allowed(c, rule)) if everywhere else (),
        direct_messages=allowed("DANY", policy.direct_messages),
    )
