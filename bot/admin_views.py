"""The Home tab's admin section and its modals (distribution mode, SPEC 11) as Block Kit: pure builders.

- :func:`admin_section`: the BIK connection (kind, last 4 characters, by whom, when), its *Connect BIK*
  / *Replace credentials* and *Disconnect* buttons, the policy in short (version, who, when, what
  ``[defaults]``, ``[direct_messages]`` and each channel allow) with *Edit a rule* and *Edit as TOML*,
  and the last few changes. Shown to admins and owners only; :func:`not_connected_section` is what
  everyone else sees while BIK is not connected.
- :func:`connect_modal`: a token, or an API key and secret. Slack has no password input: the hints
  say that what is typed is shown as typed. Nothing typed is ever put back into a view.
- :func:`rule_picker_modal` and :func:`rule_modal`: *Edit a rule*, one table at a time
  (:mod:`bot.policy_edit` turns the submitted form into the new document).
- :func:`toml_modal`: the whole document in one text input (at most 3000 characters).

Like :mod:`bot.views`: no I/O, no Slack SDK, every result inside Slack's limits. Everything stored
(ids, names, summaries, BIK's reasons) is escaped for mrkdwn or shown as plain text; the only live
markup is ours — ``<@U…>`` and ``<#C…>`` built from ids that match their pattern, and date tokens.
Every modal's ``private_metadata`` names the workspace it was opened for (``w``), which the handler
compares with the request's workspace on submission.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from bot import cards, policy_edit, views
from bot.access import Policy, Rule
from bot.bik.models import sanitise
from bot.cards import cut, mrkdwn, plain, v
from bot.credentials import MAX_CREDENTIAL_CHARS

# -- identifiers ---------------------------------------------------------------------------------------

ACTION_CONNECT = "admin_connect"
ACTION_DISCONNECT = "admin_disconnect"
ACTION_EDIT_RULE = "admin_edit_rule"
ACTION_EDIT_TOML = "admin_edit_toml"
ACTIONS = (ACTION_CONNECT, ACTION_DISCONNECT, ACTION_EDIT_RULE, ACTION_EDIT_TOML)

CALLBACK_CONNECT = "admin_connect_submit"
CALLBACK_RULE_PICK = "admin_rule_pick"
CALLBACK_RULE_SAVE = "admin_rule_save"
CALLBACK_TOML_SAVE = "admin_toml_save"
CALLBACK_NOTICE = "admin_notice"

BLOCK_TOKEN = "admin_token"  # noqa: S105 - a block id, not a token
BLOCK_KEY = "admin_key"
BLOCK_SECRET = "admin_secret"  # noqa: S105 - a block id
BLOCK_TARGET = "admin_target"
BLOCK_CHANNEL = "admin_channel"
BLOCK_TOML = "admin_toml"
BLOCK_PEOPLE = "admin_people"
BLOCK_REMOVE = "admin_remove"


def block_of(key: str) -> str:
    """The input block of one rule key (``allow`` -> ``admin_allow``)."""
    return f"admin_{key}"


def action_of(block_id: str) -> str:
    """The element's action id inside an input block (``admin_allow`` -> ``admin_allow_input``)."""
    return f"{block_id}_input"


MAX_TOML = 3000
"""A plain_text_input holds at most 3000 characters: longer policies go through the CLI."""
MAX_FORM_PEOPLE = 100
"""A rule listing more people than this is edited as TOML: the form would not show them all."""
MAX_GROUPS_TEXT = 3000
"""The user group input holds this many characters (a plain_text_input's limit)."""
MAX_HISTORY_SHOWN = 5
MAX_CHANNELS_TEXT = 2600

ViewDict = dict[str, Any]
Block = dict[str, Any]

INHERIT = "inherit"


class ConnectionLike(Protocol):
    """:class:`bot.workspaces.Connection`."""

    @property
    def kind(self) -> str: ...
    @property
    def hint(self) -> str: ...
    @property
    def connected_by(self) -> str: ...
    @property
    def connected_at(self) -> datetime: ...


class StoredPolicyLike(Protocol):
    """:class:`bot.workspaces.StoredPolicy`."""

    @property
    def document(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def updated_by(self) -> str: ...
    @property
    def updated_at(self) -> datetime: ...


class ChangeLike(Protocol):
    """:class:`bot.workspaces.Change`."""

    @property
    def kind(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def version(self) -> str | None: ...
    @property
    def at(self) -> datetime: ...


# -- small helpers -------------------------------------------------------------------------------------


def person(actor: str) -> str:
    """Who did something, for mrkdwn: a ``<@U…>`` mention for a user id, else the name escaped
    (``cli``, ``slack``)."""
    if isinstance(actor, str) and policy_edit.USER_ID.fullmatch(actor):
        return f"<@{actor}>"
    return f"`{v(actor or 'someone', 40)}`" if "`" not in (actor or "") else v(actor, 40)


def _when(at: datetime) -> str:
    try:
        return cards.slack_date(at)
    except (OverflowError, OSError, ValueError):
        return "some time ago"


def _section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(cut(text, views.MAX_CONTEXT_TEXT))]}


def _plain_section(text: str) -> Block:
    shown = cut(sanitise(text).strip() or " ", cards.MAX_SECTION_TEXT)
    return {"type": "section", "text": {"type": "plain_text", "text": shown, "emoji": True}}


def _button(text: str, action_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": plain(text, cards.MAX_BUTTON_TEXT), "action_id": action_id, **extra}


def _option(text: str, value: str, description: str | None = None) -> dict[str, Any]:
    option: dict[str, Any] = {"text": plain(text, 75), "value": value}
    if description:
        option["description"] = plain(description, 75)
    return option


def _modal(
    title: str,
    blocks: list[Block],
    *,
    callback_id: str = CALLBACK_NOTICE,
    private_metadata: str = "",
    submit: str | None = None,
    close: str = "Close",
) -> ViewDict:
    view: ViewDict = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, views.MAX_VIEW_TITLE),
        "close": plain(close, views.MAX_VIEW_TITLE),
        "blocks": blocks[: views.MAX_VIEW_BLOCKS],
    }
    if submit:
        view["submit"] = plain(submit, views.MAX_VIEW_TITLE)
    if private_metadata:
        if len(private_metadata) > views.MAX_METADATA:
            raise ValueError("private_metadata over Slack's 3000 characters")
        view["private_metadata"] = private_metadata
    return view


def table_label(target: str) -> str:
    """``[defaults]``, ``[direct_messages]``, ``[channels.C123]``."""
    return f"[{policy_edit.table_name(target)}]"


def _target_mrkdwn(target: str) -> str:
    if target in (policy_edit.DEFAULTS, policy_edit.DIRECT_MESSAGES):
        return f"`{table_label(target)}`"
    return f"`{v(table_label(target), 60)}` ({views.channel_ref(target)})"


# -- the policy in words -------------------------------------------------------------------------------


def _people_words(rule: Rule) -> str | None:
    if not rule.restricts_people:
        return None
    parts = []
    if rule.users:
        parts.append(f"{len(rule.users)} {'person' if len(rule.users) == 1 else 'people'}")
    if rule.usergroups:
        parts.append(f"{len(rule.usergroups)} user group{'s' if len(rule.usergroups) != 1 else ''}")
    return "only " + " and ".join(parts)


def rule_words(rule: Rule) -> str:
    """A rule in a few words: ``allowed · replies in channel · masks phone, email``."""
    if not rule.allow:
        return "denied"
    parts = ["allowed"]
    parts.append("replies in channel" if rule.reply == "in_channel" else "private replies")
    if rule.reply == "ephemeral" and not rule.share:
        parts.append("no Share")
    if rule.mask:
        parts.append("masks " + ", ".join(f for f in policy_edit.MASK_FIELDS if f in rule.mask))
    if rule.guests:
        parts.append("guests too")
    people = _people_words(rule)
    if people:
        parts.append(people)
    if not rule.unfurl:
        parts.append("no unfurls")
    if rule.external_unmasked:
        parts.append("unmasked in Slack Connect")
    return " · ".join(parts)


def policy_lines(policy: Policy) -> str:
    """``[defaults]``, ``[direct_messages]`` and each channel's rule, one line each, within a section."""
    lines = [
        f"• Every other channel: {rule_words(policy.defaults)}",
        f"• Direct messages, Home and the shortcut: {rule_words(policy.direct_messages)}",
    ]
    channel_lines = [
        f"• {views.channel_ref(cid)}: {rule_words(rule)}" for cid, rule in sorted(policy.channels.items())
    ]
    if channel_lines:
        lines.append(cards.fit_lines(channel_lines, MAX_CHANNELS_TEXT, "… and {n} more channels"))
    return "\n".join(lines)


# -- the Home tab --------------------------------------------------------------------------------------


def not_connected_section() -> list[Block]:
    """What someone who is not an admin sees while BIK is not connected."""
    return [
        _section(
            ":electric_plug: BIK isn't connected in this workspace yet, so lookups don't work here. "
            "A workspace admin or owner can connect it from this Home tab."
        ),
        {"type": "divider"},
    ]


def unknown_rights_section(*, connected: bool) -> list[Block]:
    """Slack did not say whether this person is an admin: no admin section, and a line saying so."""
    note = [] if connected else not_connected_section()[:1]
    return [*note, _context("Slack didn't say whether you are an admin here: reopen this tab to try again.")]


def connection_text(connection: ConnectionLike | None) -> str:
    if connection is None:
        return (
            ":electric_plug: *BIK isn't connected.* Every lookup in this workspace answers that an admin "
            "must connect it."
        )
    what = "a token" if connection.kind == "token" else "an API key and secret"
    ending = f" ending `{v(connection.hint, 8)}`" if connection.hint and "`" not in connection.hint else ""
    return (
        f":white_check_mark: *BIK is connected* with {what}{ending}, by {person(connection.connected_by)}, "
        f"{_when(connection.connected_at)}."
    )


def admin_section(
    *,
    connection: ConnectionLike | None,
    stored: StoredPolicyLike | None,
    policy: Policy | None,
    history: Sequence[ChangeLike],
    problem: str | None = None,
) -> list[Block]:
    """The admin section of the Home tab (at most 12 blocks). ``policy`` is ``stored`` parsed (None when
    there is none, or when it does not load: ``problem`` then says why)."""
    connect_label = "Replace credentials" if connection is not None else "Connect BIK"
    buttons: list[dict[str, Any]] = [
        _button(connect_label, ACTION_CONNECT, **({"style": "primary"} if connection is None else {}))
    ]
    if connection is not None:
        buttons.append(
            _button(
                "Disconnect",
                ACTION_DISCONNECT,
                style="danger",
                confirm={
                    "title": plain("Disconnect BIK?", 100),
                    "text": plain(
                        "Lookups in this workspace stop working until an admin connects BIK again. "
                        "The stored credentials are deleted.",
                        300,
                    ),
                    "confirm": plain("Disconnect", 30),
                    "deny": plain("Cancel", 30),
                    "style": "danger",
                },
            )
        )
    blocks: list[Block] = [
        {"type": "header", "text": plain("Admin", cards.MAX_HEADER)},
        _context("Only this workspace's admins and owners see this section."),
        _section(connection_text(connection)),
        {"type": "actions", "elements": buttons},
    ]
    if stored is None:
        head = "*Access policy:* none yet, so every channel is denied. Allow channels with *Edit a rule*."
    else:
        head = (
            f"*Access policy* version `{v(stored.version, 16)}`, changed by {person(stored.updated_by)}, "
            f"{_when(stored.updated_at)}."
        )
    blocks.append(_section(head))
    if problem:
        blocks.append(
            _section(
                f":warning: The stored policy doesn't load ({v(problem, 400)}): every channel "
                "is denied until it is fixed with *Edit as TOML*."
            )
        )
    elif policy is not None and stored is not None:
        blocks.append(_section(policy_lines(policy)))
    blocks.append(
        {
            "type": "actions",
            "elements": [_button("Edit a rule", ACTION_EDIT_RULE), _button("Edit as TOML", ACTION_EDIT_TOML)],
        }
    )
    shown = list(history)[:MAX_HISTORY_SHOWN]
    if shown:
        lines = [
            f"{_when(c.at)} · {person(c.actor)} · {v(c.summary, 300)}"
            + (f" (`{v(c.version, 16)}`)" if c.version and "`" not in c.version else "")
            for c in shown
        ]
        blocks.append(_context("*Recent changes*\n" + "\n".join(lines)))
    blocks.append({"type": "divider"})
    return blocks


def with_section(home: ViewDict, section: list[Block]) -> ViewDict:
    """The Home view with ``section`` after its header, cut to Slack's 100 blocks (from the end, where
    the oldest recent lookups are)."""
    blocks = list(home.get("blocks") or [])
    at = 1 if blocks and blocks[0].get("type") == "header" else 0
    merged = [*blocks[:at], *section, *blocks[at:]]
    return {**home, "blocks": merged[: views.MAX_VIEW_BLOCKS]}


# -- notices -------------------------------------------------------------------------------------------


def notice_modal(title: str, text: str) -> ViewDict:
    """A modal that only says something (plain text: nothing in it is parsed)."""
    return _modal(title, [_plain_section(text)])


def checking_modal() -> ViewDict:
    return notice_modal("Connect BIK", ":hourglass_flowing_sand: Checking the credentials with BIK…")


def connected_modal(kind: str, hint: str) -> ViewDict:
    what = "token" if kind == "token" else "API key"
    ending = f" ending {hint}" if hint else ""
    return notice_modal(
        "BIK connected",
        f":white_check_mark: BIK accepted the {what}{ending}. Lookups in this workspace use it from now "
        "on. It is stored encrypted and won't be shown again.",
    )


# -- Connect BIK ---------------------------------------------------------------------------------------

TYPED_HINT = (
    "Slack has no password field: what you type here is shown as you type it. It is sent to the bot only, "
    "stored encrypted, and never shown again."
)


def _secret_input(block_id: str, label: str, placeholder: str) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": plain(label, views.MAX_LABEL),
        "hint": plain(TYPED_HINT, views.MAX_LABEL),
        "element": {
            "type": "plain_text_input",
            "action_id": action_of(block_id),
            "max_length": MAX_CREDENTIAL_CHARS,
            "placeholder": plain(placeholder, views.MAX_PLACEHOLDER),
        },
    }


def connect_modal(*, workspace: str, replacing: bool, problem: str | None = None) -> ViewDict:
    """*Connect BIK*: a token, or an API key and its secret. ``problem`` (plain text: BIK's reason for a
    refusal that came after the modal was acknowledged) is shown above the empty inputs."""
    blocks: list[Block] = [
        _plain_section(
            "Give either BIK's token, or an API key and its secret. The bot tries them with one lookup "
            "before saving; only the last 4 characters are ever shown again."
            + (" They replace the credentials in use now." if replacing else "")
        )
    ]
    if problem:
        blocks.append(_plain_section(f":x: {problem} Type the credentials again."))
    blocks += [
        _secret_input(BLOCK_TOKEN, "Token", "The Basic token BIK gave you"),
        _plain_section("… or"),
        _secret_input(BLOCK_KEY, "API key", "BIK API key"),
        _secret_input(BLOCK_SECRET, "API secret", "BIK API secret"),
    ]
    return _modal(
        "Connect BIK",
        blocks,
        callback_id=CALLBACK_CONNECT,
        private_metadata=views.metadata(w=workspace),
        submit="Connect",
        close="Cancel",
    )


# -- Edit a rule ---------------------------------------------------------------------------------------

TARGET_CHANNEL = "channel"


def rule_picker_modal(*, workspace: str) -> ViewDict:
    """Which rule to edit: ``[defaults]``, ``[direct_messages]``, or a channel picked in Slack's own
    channel picker (not preselected: the Home tab has no channel)."""
    options = [
        _option("[defaults]", policy_edit.DEFAULTS, "Every channel that has no rule of its own"),
        _option(
            "[direct_messages]",
            policy_edit.DIRECT_MESSAGES,
            "Direct messages, the Home tab and the global shortcut",
        ),
        _option("A channel", TARGET_CHANNEL, "Pick it below"),
    ]
    blocks: list[Block] = [
        {
            "type": "input",
            "block_id": BLOCK_TARGET,
            "label": plain("Which rule?", views.MAX_LABEL),
            "element": {
                "type": "radio_buttons",
                "action_id": action_of(BLOCK_TARGET),
                "options": options,
                "initial_option": options[2],
            },
        },
        {
            "type": "input",
            "block_id": BLOCK_CHANNEL,
            "optional": True,
            "label": plain("Channel", views.MAX_LABEL),
            "hint": plain(
                "Public or private channels you can see. For a channel you can't pick here, use "
                "Edit as TOML.",
                views.MAX_LABEL,
            ),
            "element": {
                "type": "conversations_select",
                "action_id": action_of(BLOCK_CHANNEL),
                "placeholder": plain("Pick a channel", views.MAX_PLACEHOLDER),
                "default_to_current_conversation": False,
                "filter": {"include": ["public", "private"], "exclude_bot_users": True},
            },
        },
    ]
    return _modal(
        "Edit a rule",
        blocks,
        callback_id=CALLBACK_RULE_PICK,
        private_metadata=views.metadata(w=workspace),
        submit="Next",
        close="Cancel",
    )


def _yes_no(value: bool | None) -> str:
    return "inherit" if value is None else ("yes" if value else "no")


def _select(
    key: str,
    label: str,
    options: list[dict[str, Any]],
    current: str,
    hint: str | None = None,
) -> Block:
    initial = next((o for o in options if o["value"] == current), options[0])
    block: Block = {
        "type": "input",
        "block_id": block_of(key),
        "label": plain(label, views.MAX_LABEL),
        "element": {
            "type": "static_select",
            "action_id": action_of(block_of(key)),
            "options": options,
            "initial_option": initial,
        },
    }
    if hint:
        block["hint"] = plain(hint, views.MAX_LABEL)
    return block


def _bool_select(
    key: str, label: str, current: bool | None, inherited: str, hint: str | None = None
) -> Block:
    options = [
        _option(f"Inherit ({inherited})", INHERIT),
        _option("Yes", "true"),
        _option("No", "false"),
    ]
    return _select(key, label, options, INHERIT if current is None else str(current).lower(), hint)


def rule_modal(
    *,
    workspace: str,
    target: str,
    document: str | None,
    version: str,
) -> ViewDict:
    """*Edit a rule* for ``target``, prefilled from the stored ``document``: each key the table sets
    shows its value, every other one *Inherit*, with what it inherits now. Raises
    :class:`bot.policy_edit.EditError` when the stored document does not load, or when the rule lists
    more people than the form can show (saving it would drop the rest)."""
    policy_edit.check_target(target)
    data = policy_edit.parse(document)
    entry = policy_edit.entry_of(data, target)
    base = policy_edit.inherited(document, target)
    form = policy_edit.form_of(entry)
    source = "built-in" if target == policy_edit.DEFAULTS else "from [defaults]"

    def now(value: str) -> str:
        return f"{source}: {value}"

    intro = f"*Rule* {_target_mrkdwn(target)}"
    if entry is None and target not in (policy_edit.DEFAULTS,):
        intro += " — no rule of its own yet: it follows `[defaults]`."
    blocks: list[Block] = [_section(intro)]
    if policy_edit.rewrites_layout(document):
        blocks.append(
            _context(
                ":memo: Saving this form rewrites the stored policy in a standard layout: its comments "
                "are dropped. *Edit as TOML* keeps the text exactly as you write it."
            )
        )
    blocks.append(_bool_select("allow", "Lookups allowed", form.allow, now(_yes_no(base.allow))))
    reply_options = [
        _option(f"Inherit ({now(base.reply)})", INHERIT),
        _option("Only the asker sees the card", "ephemeral", "ephemeral"),
        _option("The whole channel sees the card", "in_channel", "in_channel"),
    ]
    blocks.append(_select("reply", "Replies", reply_options, form.reply or INHERIT))
    blocks.append(
        _bool_select(
            "share",
            "Offer Share in channel",
            form.share,
            now(_yes_no(base.share)),
            "On private replies: the asker may post the card for the channel (masked as the channel reads).",
        )
    )
    mask_inherit = ", ".join(f for f in policy_edit.MASK_FIELDS if f in base.mask) or "nothing"
    mask_options = [_option(f"Inherit ({now(mask_inherit)})", INHERIT)] + [
        _option(f, f) for f in policy_edit.MASK_FIELDS
    ]
    ticked = [INHERIT] if form.mask is None else list(form.mask)
    mask_element: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": action_of(block_of("mask")),
        "options": mask_options,
    }
    initial = [o for o in mask_options if o["value"] in ticked]
    if initial:
        mask_element["initial_options"] = initial
    blocks.append(
        {
            "type": "input",
            "block_id": block_of("mask"),
            "optional": True,
            "label": plain("Mask", views.MAX_LABEL),
            "hint": plain("Untick everything to mask nothing here.", views.MAX_LABEL),
            "element": mask_element,
        }
    )
    blocks.append(
        _bool_select("guests", "Guest accounts may look up", form.guests, now(_yes_no(base.guests)))
    )
    mode = policy_edit.people_mode(entry, base)
    people_now = _people_words(base) or "anyone"
    people_options = [
        _option(f"Inherit ({now(people_now)})", policy_edit.PEOPLE_INHERIT),
        _option("Anyone who may use it", policy_edit.PEOPLE_ANYONE),
        _option("Only the people and user groups below", policy_edit.PEOPLE_ONLY),
    ]
    blocks.append(_select("people", "Who may look up", people_options, mode))
    shown_users, shown_groups = policy_edit.people_shown(entry, base)
    groups_text = ", ".join(shown_groups)
    if len(shown_users) > MAX_FORM_PEOPLE or len(groups_text) > MAX_GROUPS_TEXT:
        # The form could not show them all, and saving it would drop the rest: never.
        raise policy_edit.EditError(
            f"{table_label(target)} lists more people or user groups than this form can show: "
            "edit it with Edit as TOML"
        )
    users_element: dict[str, Any] = {
        "type": "multi_users_select",
        "action_id": action_of(block_of("users")),
        "placeholder": plain("People", views.MAX_PLACEHOLDER),
    }
    if shown_users:
        users_element["initial_users"] = list(shown_users)
    blocks.append(
        {
            "type": "input",
            "block_id": block_of("users"),
            "optional": True,
            "label": plain("People", views.MAX_LABEL),
            "hint": plain(
                "Used when Who may look up is Only the people and user groups below.", views.MAX_LABEL
            ),
            "element": users_element,
        }
    )
    groups_element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_of(block_of("usergroups")),
        "placeholder": plain("S0123ABCD, S0456EFGH", views.MAX_PLACEHOLDER),
        "max_length": MAX_GROUPS_TEXT,
    }
    if groups_text:
        groups_element["initial_value"] = groups_text
    blocks.append(
        {
            "type": "input",
            "block_id": block_of("usergroups"),
            "optional": True,
            "label": plain("User group ids", views.MAX_LABEL),
            "hint": plain(
                "Slack has no user group picker: type the ids (S…), separated by commas. "
                "In Slack: the group's page, ⋮ (more), Copy group ID.",
                views.MAX_LABEL,
            ),
            "element": groups_element,
        }
    )
    unfurl_now = (
        _yes_no(base.unfurl_setting) if base.unfurl_setting is not None else "yes where cards may be read"
    )
    blocks.append(
        _bool_select(
            "unfurl",
            "Unfurl BIK links",
            form.unfurl,
            now(unfurl_now),
            "By default, only where the channel may already read cards (in-channel replies or Share).",
        )
    )
    blocks.append(
        _bool_select(
            "external_unmasked",
            "Unmasked in Slack Connect channels",
            form.external_unmasked,
            now(_yes_no(base.external_unmasked)),
            "In channels shared with other organisations, what the whole channel reads is masked in "
            "every field unless this is Yes.",
        )
    )
    if target not in (policy_edit.DEFAULTS, policy_edit.DIRECT_MESSAGES) and entry is not None:
        blocks.append(
            {
                "type": "input",
                "block_id": BLOCK_REMOVE,
                "optional": True,
                "label": plain("Remove", views.MAX_LABEL),
                "element": {
                    "type": "checkboxes",
                    "action_id": action_of(BLOCK_REMOVE),
                    "options": [_option("Remove this channel's rule (it then follows [defaults])", "remove")],
                },
            }
        )
    return _modal(
        "Edit a rule",
        blocks,
        callback_id=CALLBACK_RULE_SAVE,
        private_metadata=views.metadata(w=workspace, t=target, v=version),
        submit="Save",
        close="Cancel",
    )


# -- Edit as TOML --------------------------------------------------------------------------------------

TOML_PLACEHOLDER = '[defaults]\nallow = false\n\n[channels.C0123ABCD]\nallow = true\nmask = ["phone"]'


def toml_modal(*, workspace: str, document: str | None, version: str) -> ViewDict:
    """The whole policy as TOML in one input, prefilled with the stored document; a document longer
    than an input holds gets a notice that points at the command line instead."""
    document = document or ""
    if len(document) > MAX_TOML:
        return notice_modal(
            "Edit as TOML",
            f"This workspace's policy is {len(document)} characters, more than a Slack text box holds "
            f"({MAX_TOML}). Use Edit a rule here, or the command line on the bot's host: "
            f"python -m bot policy export --team {workspace} > policy.toml, edit it, then "
            f"python -m bot policy import --team {workspace} policy.toml",
        )
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_of(BLOCK_TOML),
        "multiline": True,
        "max_length": MAX_TOML,
        "placeholder": plain(TOML_PLACEHOLDER, views.MAX_PLACEHOLDER),
    }
    if document:
        element["initial_value"] = document
    blocks: list[Block] = [
        _plain_section(
            "The whole access policy, in the keys of the policy file ([defaults], [direct_messages], "
            "[channels.<id>]). It is saved only if it is valid, and every change is recorded."
        ),
        {
            "type": "input",
            "block_id": BLOCK_TOML,
            "optional": True,
            "label": plain("Access policy (TOML)", views.MAX_LABEL),
            "hint": plain(
                f"At most {MAX_TOML} characters; for a longer policy use python -m bot policy import. "
                "Empty: every channel is denied.",
                views.MAX_LABEL,
            ),
            "element": element,
        },
    ]
    return _modal(
        "Edit as TOML",
        blocks,
        callback_id=CALLBACK_TOML_SAVE,
        private_metadata=views.metadata(w=workspace, v=version),
        submit="Save",
        close="Cancel",
    )
