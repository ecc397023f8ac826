"""Editing a workspace's policy one rule at a time (bot/policy_edit.py): what the form sets is written,
what it leaves at *inherit* is left out, and nothing else in the document moves."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import policy_edit as pe
from bot.access import Policy, PolicyError, Rule

DOC = """# who may look customers up
[defaults]
allow = false
mask = ["phone"]

[direct_messages]
allow = true

[channels.C0SUPPORT]
allow = true
reply = "in_channel"

[channels.C0SHARED1]
allow = true
mask = ["email", "phone"]
share = false
"""


def parsed(document: str) -> dict[str, Any]:
    return tomllib.loads(document)


def test_a_set_field_is_written_and_everything_else_is_kept():
    edit = pe.apply_form(DOC, "C0SUPPORT", pe.RuleForm(allow=True, reply="in_channel", mask=("address",)))
    data = parsed(edit.document)
    assert data["channels"]["C0SUPPORT"] == {"allow": True, "reply": "in_channel", "mask": ["address"]}
    before = parsed(DOC)
    assert data["defaults"] == before["defaults"]
    assert data["direct_messages"] == before["direct_messages"]
    assert data["channels"]["C0SHARED1"] == before["channels"]["C0SHARED1"]
    assert list(data["channels"]) == ["C0SUPPORT", "C0SHARED1"]  # order kept
    assert edit.summary == "channels.C0SUPPORT: mask inherit→[address]"
    Policy.from_toml(edit.document, source="test")


def test_inherit_removes_the_key_and_is_never_written_as_a_value():
    edit = pe.apply_form(DOC, "C0SHARED1", pe.RuleForm(allow=True))
    entry = parsed(edit.document)["channels"]["C0SHARED1"]
    assert entry == {"allow": True}
    assert edit.summary == "channels.C0SHARED1: mask [email, phone]→inherit, share false→inherit"


def test_a_new_channel_rule_is_added_with_only_what_was_set():
    edit = pe.apply_form(DOC, "C0NEW", pe.RuleForm(allow=True, guests=True))
    assert parsed(edit.document)["channels"]["C0NEW"] == {"allow": True, "guests": True}
    assert edit.summary == "channels.C0NEW: new rule, allow true, guests true"


def test_an_all_inherit_form_for_a_channel_without_a_rule_adds_nothing():
    edit = pe.apply_form(DOC, "C0NEW", pe.RuleForm())
    assert not edit.changed and edit.summary == pe.NO_CHANGE
    assert "C0NEW" not in parsed(edit.document)["channels"]


def test_removing_a_channel_rule_deletes_its_table_only():
    edit = pe.apply_form(DOC, "C0SHARED1", pe.RuleForm(remove=True))
    data = parsed(edit.document)
    assert "C0SHARED1" not in data["channels"] and "C0SUPPORT" in data["channels"]
    assert edit.summary == "channels.C0SHARED1: rule removed"


def test_removing_the_last_channel_drops_the_channels_table():
    doc = "[defaults]\nallow = false\n\n[channels.C1AB]\nallow = true\n"
    edit = pe.apply_form(doc, "C1AB", pe.RuleForm(remove=True))
    assert "channels" not in parsed(edit.document)
    Policy.from_toml(edit.document, source="test")


@pytest.mark.parametrize("target", [pe.DEFAULTS, pe.DIRECT_MESSAGES])
def test_defaults_and_direct_messages_cannot_be_removed(target):
    with pytest.raises(pe.EditError) as error:
        pe.apply_form(DOC, target, pe.RuleForm(remove=True))
    assert error.value.field == "remove"


def test_lists_with_the_same_items_keep_their_stored_order_and_report_no_change():
    edit = pe.apply_form(DOC, "C0SHARED1", pe.RuleForm(allow=True, mask=("phone", "email"), share=False))
    assert parsed(edit.document)["channels"]["C0SHARED1"]["mask"] == ["email", "phone"]
    assert not edit.changed


def test_list_changes_are_summarised_as_added_and_removed_items():
    edit = pe.apply_form(DOC, "C0SHARED1", pe.RuleForm(allow=False, mask=("phone", "address"), share=False))
    assert edit.summary == "channels.C0SHARED1: allow true→false, mask +address -email"


def test_no_policy_yet_gets_its_first_rule():
    edit = pe.apply_form(None, pe.DIRECT_MESSAGES, pe.RuleForm(allow=True))
    assert parsed(edit.document) == {"direct_messages": {"allow": True}}
    assert edit.summary == "direct_messages: new rule, allow true"


def test_a_stored_document_that_is_not_toml_is_an_edit_error():
    with pytest.raises(pe.EditError, match="not valid TOML"):
        pe.apply_form("[defaults\n", pe.DEFAULTS, pe.RuleForm(allow=True))


@pytest.mark.parametrize("target", ["", "general", "#support", "C", "U0123ABCD", "channels.C1", "c0abc"])
def test_targets_are_defaults_direct_messages_or_a_channel_id(target):
    with pytest.raises(pe.EditError):
        pe.check_target(target)


def test_the_store_refuses_what_the_file_would_refuse_after_an_edit():
    # The form never builds this, but the pure edit does not validate: the store does, like the file.
    edit = pe.apply_form(DOC, "C0X1", pe.RuleForm(users=("not-a-user",)))
    with pytest.raises(PolicyError, match=r"channels\.C0X1\.users"):
        Policy.from_toml(edit.document, source="of workspace T1")


def test_rewrites_layout_is_true_only_when_comments_or_layout_would_be_lost():
    assert pe.rewrites_layout(DOC)  # it has a comment
    plain = tomli_w.dumps(parsed(DOC))
    assert not pe.rewrites_layout(plain) and not pe.rewrites_layout(None)


# -- reading the form's fields ----------------------------------------------------------------------------


def test_tri_state_and_reply_choices():
    assert pe.tri_state("true", key="allow") is True
    assert pe.tri_state("false", key="allow") is False
    assert pe.tri_state("inherit", key="allow") is None and pe.tri_state(None, key="allow") is None
    with pytest.raises(pe.EditError):
        pe.tri_state("maybe", key="share")
    assert pe.reply_choice("in_channel") == "in_channel" and pe.reply_choice("inherit") is None
    with pytest.raises(pe.EditError):
        pe.reply_choice("everyone")


def test_mask_inherit_or_exactly_the_ticked_fields():
    assert pe.mask_choice([], inherit=True) is None
    assert pe.mask_choice([], inherit=False) == ()
    assert pe.mask_choice(["address", "phone"], inherit=False) == ("phone", "address")
    with pytest.raises(pe.EditError) as error:
        pe.mask_choice(["phone"], inherit=True)
    assert error.value.field == "mask"
    with pytest.raises(pe.EditError):
        pe.mask_choice(["ssn"], inherit=False)


def test_user_group_ids_are_read_from_commas_spaces_and_pasted_mentions():
    assert pe.parse_groups("S0AB, S0CD  S0EF;S0AB") == ("S0AB", "S0CD", "S0EF")
    assert pe.parse_groups("<!subteam^S0XY|@oncall>") == ("S0XY",)
    assert pe.parse_groups("") == () and pe.parse_groups(None) == ()
    with pytest.raises(pe.EditError, match="@oncall") as error:
        pe.parse_groups("S0AB @oncall")
    assert error.value.field == "usergroups"


BASE = Rule(source="[defaults]", users=frozenset({"U0LEAD"}), usergroups=frozenset())


def test_people_inherit_anyone_or_only():
    assert pe.people("inherit", ["U0A"], [], entry={}, base=BASE) == (None, None)
    assert pe.people("anyone", ["U0A"], ["S0A"], entry={}, base=BASE) == ((), ())
    assert pe.people("only", ["U0A", "U0A"], ["S0A"], entry={}, base=BASE) == (("U0A",), ("S0A",))
    with pytest.raises(pe.EditError) as error:
        pe.people("only", [], [], entry={}, base=BASE)
    assert error.value.field == "users"


def test_people_only_leaves_out_a_key_shown_unchanged_from_what_it_inherits():
    # The table sets no users: the form showed [defaults]' U0LEAD; the admin added a group only.
    assert pe.people("only", ["U0LEAD"], ["S0OPS"], entry={}, base=BASE) == (None, ("S0OPS",))
    # A table that sets users keeps them written, even when equal to what it would inherit.
    assert pe.people("only", ["U0LEAD"], [], entry={"users": ["U0LEAD"]}, base=BASE) == (("U0LEAD",), None)
    # Choosing Only with exactly what is inherited pins both: the admin's choice is not lost.
    assert pe.people("only", ["U0LEAD"], [], entry={}, base=BASE) == (("U0LEAD",), ())


def test_people_mode_and_prefill_follow_the_table():
    assert pe.people_mode({}, BASE) == "inherit"
    assert pe.people_mode({"users": []}, Rule(source="x")) == "anyone"
    assert pe.people_mode({"usergroups": ["S0A"]}, BASE) == "only"
    assert pe.people_shown({"usergroups": ["S0A"]}, BASE) == (("U0LEAD",), ("S0A",))


def test_inherited_is_defaults_for_a_channel_and_built_in_for_defaults():
    assert pe.inherited(DOC, "C0ANY").mask == frozenset({"phone"})
    assert pe.inherited(DOC, pe.DEFAULTS) == Rule(source="built-in")
    with pytest.raises(pe.EditError, match="invalid"):
        pe.inherited("[defaults]\nallow = 3\n", "C0ANY")


def test_form_of_a_table_prefills_what_it_sets():
    entry = parsed(DOC)["channels"]["C0SHARED1"]
    assert pe.form_of(entry) == pe.RuleForm(allow=True, mask=("email", "phone"), share=False)
    assert pe.form_of(None) == pe.RuleForm()


# -- whole documents (Edit as TOML) -------------------------------------------------------------------------


def test_describe_documents_names_every_table_that_changed():
    new = DOC.replace('reply = "in_channel"', "guests = true").replace(
        "[direct_messages]\nallow = true\n", ""
    )
    assert pe.describe_documents(DOC, new) == (
        "direct_messages: rule removed; channels.C0SUPPORT: reply in_channel→inherit, guests inherit→true"
    )
    assert pe.describe_documents(DOC, DOC) == pe.NO_CHANGE
    assert "not valid TOML" in pe.describe_documents("[x", DOC)


def test_a_long_summary_is_cut_and_counts_what_it_left_out():
    new = "".join(f"[channels.C{i:04d}]\nallow = true\n" for i in range(200))
    summary = pe.describe_documents("", new)
    assert len(summary) <= pe.MAX_SUMMARY and summary.endswith("more changes")


def test_a_policy_error_is_shown_without_the_document_name():
    with pytest.raises(PolicyError) as error:
        Policy.from_toml("[channels.general]\nallow = true\n", source="of workspace T0A")
    assert pe.policy_problem(str(error.value)).startswith("channels: [channels.general]")


# -- the property: form -> document -> Policy, nothing else moved -------------------------------------------

channel_ids = st.from_regex(r"C[A-Z0-9]{2,8}", fullmatch=True)
user_ids = st.from_regex(r"[UW][A-Z0-9]{2,8}", fullmatch=True)
group_ids = st.from_regex(r"S[A-Z0-9]{2,8}", fullmatch=True)
masks = st.lists(st.sampled_from(pe.MASK_FIELDS), unique=True).map(tuple)


@st.composite
def entries(draw: st.DrawFn) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for key in pe.BOOL_KEYS:
        if draw(st.booleans()):
            entry[key] = draw(st.booleans())
    if draw(st.booleans()):
        entry["reply"] = draw(st.sampled_from(pe.REPLIES))
    if draw(st.booleans()):
        entry["mask"] = list(draw(masks))
    if draw(st.booleans()):
        entry["users"] = draw(st.lists(user_ids, unique=True, max_size=3))
    if draw(st.booleans()):
        entry["usergroups"] = draw(st.lists(group_ids, unique=True, max_size=3))
    return entry


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if draw(st.booleans()):
        data["defaults"] = draw(entries())
    if draw(st.booleans()):
        data["direct_messages"] = draw(entries())
    channels = draw(st.dictionaries(channel_ids, entries(), max_size=4))
    if channels:
        data["channels"] = channels
    return data


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


forms = st.builds(
    pe.RuleForm,
    allow=optional(st.booleans()),
    reply=optional(st.sampled_from(pe.REPLIES)),
    share=optional(st.booleans()),
    mask=optional(masks),
    guests=optional(st.booleans()),
    users=optional(st.lists(user_ids, unique=True, max_size=3).map(tuple)),
    usergroups=optional(st.lists(group_ids, unique=True, max_size=3).map(tuple)),
    unfurl=optional(st.booleans()),
    external_unmasked=optional(st.booleans()),
)


@st.composite
def targets(draw: st.DrawFn, data: dict[str, Any]) -> str:
    known = list(data.get("channels", {}))
    return draw(st.sampled_from([pe.DEFAULTS, pe.DIRECT_MESSAGES, *known]) | channel_ids)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_form_to_document_round_trips_and_leaves_every_other_key_alone(data: st.DataObject) -> None:
    before = data.draw(documents())
    document = tomli_w.dumps(before)
    Policy.from_toml(document, source="generated")  # the generator makes valid documents only
    target = data.draw(targets(before))
    form = data.draw(forms)

    edit = pe.apply_form(document, target, form)
    after = tomllib.loads(edit.document)
    policy = Policy.from_toml(edit.document, source="edited")  # valid, like the file

    old_entry = pe.entry_of(before, target)
    new_entry = pe.entry_of(after, target)
    wanted = form.values()
    if not wanted and old_entry is None:
        assert new_entry is None  # nothing set: no empty table appears
    else:
        assert new_entry is not None
        owned = {k: v for k, v in new_entry.items() if k in pe.KEYS}
        assert {k: sorted(v) if isinstance(v, list) else v for k, v in owned.items()} == {
            k: sorted(v) if isinstance(v, list) else v for k, v in wanted.items()
        }
    # Every other table is exactly as it was, in the same order.
    strip = pe.table_name(target)
    others_before = {k: v for k, v in pe._tables(before).items() if k != strip}
    others_after = {k: v for k, v in pe._tables(after).items() if k != strip}
    assert others_after == others_before
    assert list(others_after) == list(others_before)
    # The rule in force is what the form says, over what it inherits.
    rule = (
        policy.defaults
        if target == pe.DEFAULTS
        else policy.direct_messages
        if target == pe.DIRECT_MESSAGES
        else policy.rule_for(target)
    )
    for key in ("allow", "reply", "share", "guests", "external_unmasked"):
        if getattr(form, key) is not None:
            assert getattr(rule, key) == getattr(form, key)
    if form.mask is not None:
        assert rule.mask == frozenset(form.mask)
    if form.unfurl is not None:
        assert rule.unfurl is form.unfurl
    # Applying the same form again changes nothing.
    again = pe.apply_form(edit.document, target, form)
    assert not again.changed and tomllib.loads(again.document) == after
    # The summary names the table when something changed.
    assert (edit.summary == pe.NO_CHANGE) is (not edit.changed)
    if edit.changed:
        assert strip in edit.summary


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_removing_a_channel_keeps_every_other_table(data: st.DataObject) -> None:
    before = data.draw(documents())
    channels = list(before.get("channels", {}))
    if not channels:
        return
    target = data.draw(st.sampled_from(channels))
    edit = pe.apply_form(tomli_w.dumps(before), target, pe.RuleForm(remove=True))
    after = tomllib.loads(edit.document)
    assert pe.entry_of(after, target) is None
    expected = {k: v for k, v in pe._tables(before).items() if k != f"channels.{target}"}
    assert pe._tables(after) == expected
    Policy.from_toml(edit.document, source="edited")
