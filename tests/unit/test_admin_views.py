"""The Home tab's admin section and its modals (bot/admin_views.py), and who counts as an admin
(bot/admins.py): valid Block Kit whatever is stored, stored text never live markup, nothing secret
shown, and the admin decision as Slack describes people."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import admin_views as av
from bot import policy_edit as pe
from bot import views
from bot.access import Policy
from bot.admins import Installation, verdict
from bot.workspaces import Change, Connection, StoredPolicy
from tests.blockkit import texts, view_problems

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
DOC = """[defaults]
allow = false

[direct_messages]
allow = true
mask = ["phone"]

[channels.C0SUPPORT]
allow = true
reply = "in_channel"

[channels.C0ONCALL]
allow = true
users = ["U0LEAD"]
usergroups = ["S0OPS"]
"""
POLICY = Policy.from_toml(DOC, source="test")
STORED = StoredPolicy(DOC, POLICY.version, "U0ADMIN", AT)
CONNECTION = Connection("key", "9xYz", "U0ADMIN", AT)


def valid(view):
    assert view_problems(view) == [], view_problems(view)
    return view


def home(section):
    return valid(
        av.with_section(
            {"type": "home", "blocks": [{"type": "header", "text": views.plain("Hi", 150)}]}, section
        )
    )


def all_text(view) -> str:
    return "\n".join(t for _, t in texts({"blocks": view["blocks"]}))


def action_ids(view):
    out = []
    for block in view["blocks"]:
        if block["type"] == "actions":
            out += [e["action_id"] for e in block["elements"]]
    return out


def test_ids_are_prefixed_admin():
    ids = [
        *av.ACTIONS,
        av.CALLBACK_CONNECT,
        av.CALLBACK_RULE_PICK,
        av.CALLBACK_RULE_SAVE,
        av.CALLBACK_TOML_SAVE,
    ]
    assert all(i.startswith("admin_") for i in ids)


def test_admin_section_shows_the_connection_the_policy_and_recent_changes():
    history = [Change(2, "T0A", "policy", "U0ADMIN", "channels.C0SUPPORT: allow false→true", "abcd1234", AT)]
    view = home(av.admin_section(connection=CONNECTION, stored=STORED, policy=POLICY, history=history))
    text = all_text(view)
    assert "ending `9xYz`" in text and "an API key and secret" in text and "<@U0ADMIN>" in text
    assert f"version `{POLICY.version}`" in text
    assert "<#C0SUPPORT>: allowed · replies in channel" in text
    assert "<#C0ONCALL>: allowed · private replies · only 1 person and 1 user group" in text
    assert "Direct messages, Home and the shortcut: allowed · private replies · masks phone" in text
    assert "channels.C0SUPPORT: allow false→true" in text
    assert action_ids(view) == [
        av.ACTION_CONNECT,
        av.ACTION_DISCONNECT,
        av.ACTION_EDIT_RULE,
        av.ACTION_EDIT_TOML,
    ]
    connect = next(e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert connect["text"]["text"] == "Replace credentials"
    disconnect = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]][1]
    assert "confirm" in disconnect  # Slack asks before it is sent


def test_admin_section_without_bik_or_policy_offers_connect_and_says_everything_is_denied():
    view = home(av.admin_section(connection=None, stored=None, policy=None, history=[]))
    text = all_text(view)
    assert "BIK isn't connected" in text and "every channel is denied" in text
    assert action_ids(view) == [av.ACTION_CONNECT, av.ACTION_EDIT_RULE, av.ACTION_EDIT_TOML]


def test_a_policy_that_does_not_load_is_said_so():
    view = home(
        av.admin_section(
            connection=None, stored=STORED, policy=None, history=[], problem="defaults.allow: <b>"
        )
    )
    assert "doesn't load (defaults.allow: &lt;b&gt;)" in all_text(view)


hostile = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)) | st.sampled_from(list("<>&`*_~@!#|\n")),
    max_size=300,
)


@settings(max_examples=40, deadline=None)
@given(actor=hostile, summary=hostile, hint=hostile, kind=hostile, version=hostile)
def test_stored_text_never_becomes_markup_and_the_view_stays_valid(actor, summary, hint, kind, version):
    history = [Change(i, "T0A", kind, actor, summary, version, AT) for i in range(8)]
    connection = Connection(kind, hint, actor, AT)
    stored = StoredPolicy(DOC, version, actor, AT)
    home(av.admin_section(connection=connection, stored=stored, policy=POLICY, history=history))


def test_a_policy_with_many_channels_fits_and_counts_the_rest():
    doc = "".join(f'[channels.C{i:05d}]\nallow = true\nmask = ["phone"]\n' for i in range(400))
    policy = Policy.from_toml(doc, source="test")
    view = home(
        av.admin_section(
            connection=CONNECTION,
            stored=StoredPolicy(doc, policy.version, "U0A1", AT),
            policy=policy,
            history=[],
        )
    )
    assert "more channels" in all_text(view)


def test_the_section_goes_after_the_header_and_the_home_stays_within_100_blocks():
    big = {
        "type": "home",
        "blocks": [{"type": "header", "text": views.plain("Hi", 150)}]
        + [{"type": "divider"} for _ in range(99)],
    }
    merged = av.with_section(big, av.not_connected_section())
    assert len(merged["blocks"]) == 100 and merged["blocks"][1]["type"] == "section"


def test_non_admins_see_only_that_an_admin_must_connect_bik():
    view = home(av.not_connected_section())
    assert "admin" in all_text(view) and action_ids(view) == []


# -- modals --------------------------------------------------------------------------------------------


def test_connect_modal_never_prefills_a_credential_and_warns_that_typing_is_visible():
    view = valid(av.connect_modal(workspace="T0A", replacing=True, problem="BIK refused <these>"))
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == [av.BLOCK_TOKEN, av.BLOCK_KEY, av.BLOCK_SECRET]
    assert all("initial_value" not in b["element"] for b in inputs)
    assert all("shown as you type it" in b["hint"]["text"] for b in inputs)
    assert all(b["element"]["max_length"] == 512 for b in inputs)
    assert json.loads(view["private_metadata"]) == {"w": "T0A"}
    assert view["callback_id"] == av.CALLBACK_CONNECT
    assert "BIK refused <these>" in json.dumps(view)  # plain text: shown, never parsed


def test_rule_picker_offers_defaults_direct_messages_or_a_channel_not_preselected():
    view = valid(av.rule_picker_modal(workspace="T0A"))
    picker = next(b for b in view["blocks"] if b["block_id"] == av.BLOCK_CHANNEL)["element"]
    assert picker["type"] == "conversations_select" and picker["default_to_current_conversation"] is False
    assert picker["filter"]["exclude_bot_users"] is True
    assert json.loads(view["private_metadata"]) == {"w": "T0A"}


def input_of(view, key):
    return next(b for b in view["blocks"] if b.get("block_id") == av.block_of(key))["element"]


def test_rule_modal_prefills_what_the_rule_sets_and_shows_what_the_rest_inherits():
    view = valid(av.rule_modal(workspace="T0A", target="C0ONCALL", document=DOC, version=POLICY.version))
    assert json.loads(view["private_metadata"]) == {"w": "T0A", "t": "C0ONCALL", "v": POLICY.version}
    assert input_of(view, "allow")["initial_option"]["value"] == "true"
    assert input_of(view, "reply")["initial_option"]["value"] == av.INHERIT
    assert input_of(view, "reply")["initial_option"]["text"]["text"] == "Inherit (from [defaults]: ephemeral)"
    assert [o["value"] for o in input_of(view, "mask")["initial_options"]] == [av.INHERIT]
    assert input_of(view, "people")["initial_option"]["value"] == pe.PEOPLE_ONLY
    assert input_of(view, "users")["initial_users"] == ["U0LEAD"]
    assert input_of(view, "usergroups")["initial_value"] == "S0OPS"
    assert any(b.get("block_id") == av.BLOCK_REMOVE for b in view["blocks"])


def test_rule_modal_for_defaults_inherits_built_in_values_and_cannot_be_removed():
    view = valid(av.rule_modal(workspace="T0A", target=pe.DEFAULTS, document=DOC, version="v"))
    assert input_of(view, "allow")["options"][0]["text"]["text"] == "Inherit (built-in: no)"
    assert not any(b.get("block_id") == av.BLOCK_REMOVE for b in view["blocks"])


def test_rule_modal_for_a_channel_without_a_rule_says_it_follows_defaults():
    view = valid(av.rule_modal(workspace="T0A", target="C0NEW", document=None, version=""))
    assert "follows `[defaults]`" in all_text(view)
    assert not any(b.get("block_id") == av.BLOCK_REMOVE for b in view["blocks"])


def test_rule_modal_warns_when_saving_would_drop_comments():
    view = valid(av.rule_modal(workspace="T0A", target="C0NEW", document="# note\n" + DOC, version="v"))
    assert "comments" in all_text(view)


def test_toml_modal_is_prefilled_and_a_long_policy_points_at_the_cli():
    view = valid(av.toml_modal(workspace="T0A", document=DOC, version="v1"))
    element = next(b for b in view["blocks"] if b.get("block_id") == av.BLOCK_TOML)["element"]
    assert element["initial_value"] == DOC and element["multiline"] and element["max_length"] == 3000
    long_view = valid(av.toml_modal(workspace="T0A", document="#" * 3001, version="v1"))
    assert "python -m bot policy import --team T0A" in json.dumps(long_view)
    assert "submit" not in long_view


def test_notices_are_valid():
    valid(av.checking_modal())
    valid(av.connected_modal("token", "abcd"))
    valid(av.notice_modal("Not allowed", "<!channel> & co"))


# -- who is an admin -----------------------------------------------------------------------------------

WS = Installation(key="T0A", team_id="T0A", enterprise_id=None, org_wide=False)
ORG = Installation(key="E0ORG", team_id=None, enterprise_id="E0ORG", org_wide=True)


@pytest.mark.parametrize(
    ("user", "reason"),
    [
        ({"id": "U1", "team_id": "T0A", "is_admin": True}, "admin"),
        ({"id": "U1", "team_id": "T0A", "is_owner": True}, "owner"),
        ({"id": "U1", "team_id": "T0A"}, "not_admin"),
        ({"id": "U1", "team_id": "T0OTHER", "is_admin": True}, "other_workspace"),  # Slack Connect
        ({"id": "U1", "team_id": "T0A", "is_admin": True, "deleted": True}, "deleted"),
        ({"id": "U1", "team_id": "T0A", "is_admin": True, "is_restricted": True}, "guest"),
        ({"id": "B1", "team_id": "T0A", "is_admin": True, "is_bot": True}, "bot"),
        ({"id": "U1", "team_id": "T0A", "is_admin": "true"}, "not_admin"),  # only a real true counts
        ({}, "no_user"),
    ],
)
def test_workspace_admins_and_owners_of_that_workspace_only(user, reason):
    found = verdict(WS, user, user_team_id="T0A")
    assert found.reason == reason and found.admin is (reason in ("admin", "owner"))


def test_the_payload_placing_the_user_in_another_workspace_is_refused_whatever_users_info_says():
    found = verdict(WS, {"id": "U1", "team_id": "T0A", "is_admin": True}, user_team_id="T0EXT")
    assert not found.admin and found.reason == "other_workspace"


def test_org_wide_installs_take_enterprise_admins_of_that_org_only():
    admin = {"id": "W1", "team_id": "T0X", "enterprise_user": {"enterprise_id": "E0ORG", "is_admin": True}}
    assert verdict(ORG, admin, user_team_id="T0X", enterprise_id="E0ORG").admin
    outsider = {
        "id": "W2",
        "team_id": "T0Y",
        "is_owner": True,
        "enterprise_user": {"enterprise_id": "E0OTHER"},
    }
    assert verdict(ORG, outsider, user_team_id="T0Y").reason == "other_workspace"
    assert verdict(ORG, admin, user_team_id="T0X", enterprise_id="E0OTHER").reason == "other_workspace"
    member = {"id": "W3", "team_id": "T0X", "enterprise_user": {"enterprise_id": "E0ORG"}}
    assert verdict(ORG, member, user_team_id="T0X").reason == "not_admin"


def test_unknown_rights_say_so_and_show_no_admin_buttons():
    for connected in (True, False):
        view = home(av.unknown_rights_section(connected=connected))
        assert "reopen this tab" in all_text(view) and action_ids(view) == []
        assert ("isn't connected" in all_text(view)) is (not connected)


def test_a_rule_with_more_people_than_the_form_shows_is_sent_to_toml_not_truncated():
    users = ", ".join(f'"U{i:04d}"' for i in range(av.MAX_FORM_PEOPLE + 1))
    doc = f"[channels.C0BIG]\nallow = true\nusers = [{users}]\n"
    with pytest.raises(pe.EditError, match="Edit as TOML"):
        av.rule_modal(workspace="T0A", target="C0BIG", document=doc, version="v")
    fits = doc.replace(f', "U{av.MAX_FORM_PEOPLE:04d}"', "")
    view = valid(av.rule_modal(workspace="T0A", target="C0BIG", document=fits, version="v"))
    assert len(input_of(view, "users")["initial_users"]) == av.MAX_FORM_PEOPLE
