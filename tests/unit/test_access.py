from __future__ import annotations

from pathlib import Path

import pytest

from bot.access import ALL_FIELDS, Facts, Policy, PolicyError, decide
from bot.policy_report import report

EXAMPLE = """
[defaults]
allow = false
reply = "ephemeral"
share = true
mask = []
guests = false
users = []
usergroups = []

[direct_messages]
allow = false

[channels.C0123ABCD]
allow = true

[channels.C0SHARED1]
allow = true
mask = ["phone", "email"]
share = false

[channels.CONCALL01]
allow = true
reply = "in_channel"
users = ["U0ONCALL1"]
usergroups = ["S0ONCALL1"]
guests = true
external_unmasked = true
"""


def load(text: str, tmp_path: Path) -> Policy:
    path = tmp_path / "access.toml"
    path.write_text(text)
    return Policy.load(path)


def test_the_spec_example_loads_with_inheritance(tmp_path):
    policy = load(EXAMPLE, tmp_path)
    assert policy.loaded and policy.allowed_channel_count == 3
    plain = policy.rule_for("C0123ABCD")
    assert (plain.allow, plain.reply, plain.share, plain.mask, plain.guests) == (
        True,
        "ephemeral",
        True,
        frozenset(),
        False,
    )
    shared = policy.rule_for("C0SHARED1")
    assert shared.mask == {"phone", "email"} and shared.share is False and shared.reply == "ephemeral"
    oncall = policy.rule_for("CONCALL01")
    assert oncall.users == {"U0ONCALL1"} and oncall.usergroups == {"S0ONCALL1"} and oncall.external_unmasked
    assert policy.rule_for("CUNKNOWN1").allow is False
    assert policy.rule_for("D0123", "directmessage").source == "[direct_messages]"
    assert policy.rule_for("G0123", "mpdm-a--b-1").source == "[direct_messages]"


@pytest.mark.parametrize("name", ["directmessage", "mpdm-alice--bob-1", "privategroup"])
def test_a_channel_named_like_a_dm_gets_its_channel_rule_not_the_dm_rule(tmp_path, name):
    policy = load("[defaults]\nallow = false\n[direct_messages]\nallow = true\n", tmp_path)
    assert policy.rule_for("C0123ABCD", name).source == "[defaults]"
    assert policy.rule_for("C0123ABCD", name).allow is False


def test_channel_entries_inherit_every_key_left_out_from_defaults(tmp_path):
    policy = load(
        '[defaults]\nreply = "in_channel"\nmask = ["address"]\nshare = false\n[channels.C1X]\nallow = true\n',
        tmp_path,
    )
    rule = policy.rule_for("C1X")
    assert (rule.reply, rule.mask, rule.share) == ("in_channel", {"address"}, False)


def test_direct_messages_inherit_defaults_when_absent(tmp_path):
    policy = load("[defaults]\nallow = true\n", tmp_path)
    assert policy.rule_for("D1", "directmessage").allow is True


def test_missing_file_denies_everything(tmp_path):
    policy = Policy.load(tmp_path / "nope.toml")
    assert not policy.loaded
    decision = decide(policy, policy.rule_for("C1"), channel_id="C1", user_id="U1", facts=Facts())
    assert not decision.allowed and decision.reason == "no_policy"
    assert (
        "`C1`" in decision.message and "[channels.C1]" in decision.message and "nope.toml" in decision.message
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[defaults\nallow = true", "not valid TOML"),
        ("[defaults]\nalow = true", "defaults.alow: unknown key"),
        ('[defaults]\nallow = "yes"', "defaults.allow"),
        ('[channels.C1X]\nmask = ["phones"]', "channels.C1X.mask[0]: 'phones' is not one of"),
        ('[channels.C1X]\nreply = "loud"', "channels.C1X.reply"),
        ("[channels.general]\nallow = true", "use the channel id"),
        ('[channels.C1X]\nusers = ["jane"]', "channels.C1X.users[0]"),
        ('[channels.C1X]\nusergroups = ["U123"]', "channels.C1X.usergroups[0]"),
        ("[extra]\nallow = true", "extra: unknown key"),
        ("[channels.C1X]\nexternal_unmasked = 1", "channels.C1X.external_unmasked"),
    ],
)
def test_malformed_files_name_the_file_and_the_key(tmp_path, text, fragment):
    with pytest.raises(PolicyError) as caught:
        load(text, tmp_path)
    assert str(tmp_path / "access.toml") in str(caught.value)
    assert fragment in str(caught.value)


def _decide(policy, channel, user="U1", **facts):
    return decide(policy, policy.rule_for(channel), channel_id=channel, user_id=user, facts=Facts(**facts))


def test_guests_denied_unless_allowed(tmp_path):
    policy = load(EXAMPLE, tmp_path)
    assert _decide(policy, "C0123ABCD", user_is_guest=True).reason == "guest"
    assert _decide(policy, "CONCALL01", "U0ONCALL1", user_is_guest=True).allowed


def test_users_and_usergroups_restrict_who_may_run_it(tmp_path):
    policy = load(EXAMPLE, tmp_path)
    assert _decide(policy, "CONCALL01", "U0ONCALL1").allowed
    assert _decide(policy, "CONCALL01", "UOTHER", user_groups=frozenset({"S0ONCALL1"})).allowed
    denied = _decide(policy, "CONCALL01", "UOTHER")
    assert denied.reason == "user_not_allowed" and "`UOTHER`" in denied.message


def test_denied_channel_is_denied_before_anything_about_the_user(tmp_path):
    policy = load(EXAMPLE, tmp_path)
    assert _decide(policy, "CNOPE", user_is_guest=True).reason == "channel_not_allowed"
    assert "[direct_messages]" in _decide(policy, "D1").message


def test_masks_for_shared_channels(tmp_path):
    policy = load(EXAMPLE, tmp_path)
    plain = policy.rule_for("C0123ABCD")
    assert plain.mask_for(visible_to_channel=True, channel_shared=True) == ALL_FIELDS
    assert plain.mask_for(visible_to_channel=False, channel_shared=True) == frozenset()
    assert plain.mask_for(visible_to_channel=True, channel_shared=False) == frozenset()
    assert policy.rule_for("C0SHARED1").mask_for(visible_to_channel=False, channel_shared=True) == {
        "phone",
        "email",
    }
    assert policy.rule_for("CONCALL01").mask_for(visible_to_channel=True, channel_shared=True) == frozenset()


def test_policy_report_lists_every_channel(tmp_path):
    text = report(load(EXAMPLE, tmp_path))
    assert "valid. 3 channel(s) allowed" in text
    assert "C0SHARED1              allowed, reply ephemeral; no share button; masks email, phone" in text
    assert "CONCALL01" in text and "UNMASKED" in text and "only U0ONCALL1, S0ONCALL1" in text
    assert "any other channel      denied" in text


def test_a_g_channel_without_a_name_gets_the_stricter_of_defaults_and_direct_messages(tmp_path):
    policy = load(
        '[defaults]\nallow = true\nreply = "in_channel"\nmask = ["address"]\n'
        '[direct_messages]\nallow = true\nreply = "ephemeral"\nmask = ["phone"]\nshare = false\n',
        tmp_path,
    )
    rule = policy.rule_for("G0123ABCD")
    assert rule.allow and rule.reply == "ephemeral" and rule.share is False
    assert rule.mask == {"address", "phone"} and rule.unfurl is False
    assert policy.rule_for("G0123ABCD", "mpdm-a--b-1").source == "[direct_messages]"
    assert policy.rule_for("G0123ABCD", "old-private").source == "[defaults]"


def test_the_stricter_rule_denies_when_either_denies(tmp_path):
    policy = load("[defaults]\nallow = true\n[direct_messages]\nallow = false\n", tmp_path)
    assert policy.rule_for("G0123ABCD").allow is False
