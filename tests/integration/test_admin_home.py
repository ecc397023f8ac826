"""The Home tab's admin section in distribution mode (SPEC 11), through the real app over HTTP:
workspaces installed through the OAuth flow, admins and owners as Slack's ``users.info`` says, BIK's
stand-in for the trial lookup, and the store read back from the database.

Every click and submission is a payload of the corpus (``tests/payloads``) with ids changed; a
submission carries the view the bot itself opened, with the inputs as Slack echoes them. Admin rights
are checked by the server at every step: the forged clicks and submissions here change nothing."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from bot import admin_views as av
from bot.admins import NOT_ORG_ADMIN, Installation, verdict
from tests import payloads
from tests.fakes.botserver import SlackClient, wait_for
from tests.fakes.install import install_workspace
from tests.fakes.workspace_db import rows, seed

ADMIN = "U0ADMIN"
MEMBER = "U0MEMBER"
TOKEN = "bik-home-typed-token-7Qz9"  # what the admin types: must never be logged or sent back to Slack
OTHER_TOKEN = "bik-token-of-workspace-b-0002"
CALLOWED_ONLY = "[defaults]\nallow = false\n\n[channels.CALLOWED]\nallow = true\n"


# -- the workspace and the database --------------------------------------------------------------------


def stored_policy(url: str, key: str) -> str | None:
    found = rows(url, f"SELECT document FROM policies WHERE workspace = '{key}'")  # noqa: S608
    return found[0].document if found else None


@pytest.fixture
def alpha(start_distribution_bot, slack, bik):
    """Workspace T0A installed through the flow, with one admin; returns (server, client, db url)."""
    server, _ = start_distribution_bot()
    installed = install_workspace(slack, server.url, "T0A", "Alpha")
    assert installed.response.status_code == 200
    slack.admins.add(ADMIN)
    return server, SlackClient(server.url, team="T0A"), server.bot.settings.database_url


# -- Slack's payloads ----------------------------------------------------------------------------------


def replaced(node: Any, ids: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: replaced(v, ids) for k, v in node.items()}
    if isinstance(node, list):
        return [replaced(v, ids) for v in node]
    return ids.get(node, node) if isinstance(node, str) else node


def home_opened(team: str, user: str) -> dict[str, Any]:
    body = payloads.load("event_callback_app_home_opened_home")
    return replaced(body, {"T04ASJ0NWLW": team, "A07K2M9Q4RT": "A1", "U05B7LKQ2PX": user})


def home_click(team: str, user: str, action_id: str) -> dict[str, Any]:
    return payloads.interaction(
        "block_actions_home", action_id=action_id, user=user, team=team, api_app_id="A1"
    )


def submission(
    opened: dict[str, Any], team: str, user: str, values: dict[str, Any], *, user_team: str | None = None
) -> dict[str, Any]:
    """``view_submission`` of ``opened`` as Slack echoes it back; ``user_team``: the person's own
    workspace when it is not the installing one (Slack Connect: ``team``, ``user.team_id`` and
    ``view.team_id`` are theirs, ``view.app_installed_team_id`` the installer's)."""
    payload = payloads.interaction("view_submission", user=user, team=team, api_app_id="A1")
    view = payload["view"]
    for key in ("blocks", "callback_id", "private_metadata", "title", "submit", "close"):
        view[key] = opened.get(key, "" if key in ("callback_id", "private_metadata") else None)
    view["id"] = view["root_view_id"] = "V123"
    view["state"] = {"values": values}
    payload["response_urls"] = []
    if user_team is not None:
        payload["team"]["id"] = payload["user"]["team_id"] = view["team_id"] = user_team
    return payload


def typed(**by_block: str | None) -> dict[str, Any]:
    return {
        block: {av.action_of(block): {"type": "plain_text_input", "value": value}}
        for block, value in by_block.items()
    }


def echoed(view: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The state Slack sends for ``view``: every input as it was prefilled, then ``changes`` (by block
    id: an option value, a list of values, users or text)."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element, block_id = block["element"], block["block_id"]
        kind, action = element["type"], element["action_id"]
        change = changes.get(block_id)
        options = {o["value"]: o for o in element.get("options", [])}
        if kind in ("static_select", "radio_buttons"):
            chosen = options[change] if change is not None else element.get("initial_option")
            state = {"type": kind, "selected_option": chosen}
        elif kind == "checkboxes":
            ticked = (
                [options[v] for v in change] if change is not None else element.get("initial_options", [])
            )
            state = {"type": kind, "selected_options": ticked}
        elif kind == "multi_users_select":
            state = {
                "type": kind,
                "selected_users": change if change is not None else element.get("initial_users", []),
            }
        elif kind == "conversations_select":
            state = {"type": kind, "selected_conversation": change}
        else:
            state = {"type": kind, "value": change if change is not None else element.get("initial_value")}
        values[block_id] = {action: state}
    return values


def view_of(params: dict[str, Any]) -> dict[str, Any]:
    view = params["view"]
    return json.loads(view) if isinstance(view, str) else view


def opened(slack, count: int) -> dict[str, Any]:
    """The ``count``-th modal the bot opened (1-based), once it has."""
    calls = wait_for(
        lambda: len(slack.method_calls("views.open")) >= count and slack.method_calls("views.open")
    )
    return view_of(calls[count - 1])


def published(slack, user: str, count: int = 1) -> dict[str, Any]:
    """The ``count``-th Home view published for ``user``."""

    def views() -> list[dict[str, Any]]:
        return [view_of(p) for p in slack.method_calls("views.publish") if p.get("user_id") == user]

    return wait_for(lambda: len(views()) >= count and views())[count - 1]


def text(view: dict[str, Any]) -> str:
    return json.dumps(view)


def admin_header(view: dict[str, Any]) -> bool:
    return any(b["type"] == "header" and b["text"]["text"] == "Admin" for b in view["blocks"])


def action_ids(view: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


# -- connecting BIK ------------------------------------------------------------------------------------


def test_an_admin_connects_bik_from_the_home_tab_and_sees_only_the_last_4(alpha, slack, bik, logs):
    _server, client, url = alpha
    bik.only_accept(TOKEN)
    assert client.event(home_opened("T0A", ADMIN)).status_code == 200
    home = published(slack, ADMIN)
    assert admin_header(home) and "BIK isn't connected" in text(home)
    assert action_ids(home)[:1] == [av.ACTION_CONNECT]

    assert client.interaction(home_click("T0A", ADMIN, av.ACTION_CONNECT)).status_code == 200
    form = opened(slack, 1)
    assert form["callback_id"] == av.CALLBACK_CONNECT
    ack = client.interaction(submission(form, "T0A", ADMIN, typed(admin_token=TOKEN)))
    assert ack.status_code == 200
    assert ack.json()["response_action"] == "update" and "BIK connected" in ack.text
    assert "7Qz9" in ack.text and TOKEN not in ack.text

    # The trial lookup went to BIK's stand-in with the typed token; it is stored sealed.
    assert bik.authorizations() == [TOKEN]
    [row] = rows(url, "SELECT workspace, kind, hint, connected_by, sealed FROM bik_connections")
    assert (row.workspace, row.kind, row.hint, row.connected_by) == ("T0A", "token", "7Qz9", ADMIN)
    assert TOKEN not in row.sealed
    [change] = rows(url, "SELECT actor, summary FROM workspace_changes WHERE kind = 'bik'")
    assert change.actor == ADMIN and "7Qz9" in change.summary and TOKEN not in change.summary

    # The Home tab is published again: connected, by whom, the last 4 only.
    home = published(slack, ADMIN, 2)
    assert "BIK is connected" in text(home) and "`7Qz9`" in text(home) and f"<@{ADMIN}>" in text(home)
    assert action_ids(home)[:2] == [av.ACTION_CONNECT, av.ACTION_DISCONNECT]

    # Lookups in the workspace use it.
    seed(url, "T0A", policy=CALLOWED_ONLY)
    wait_for(lambda: "Test Last" in client.command("abcd-122345", response_url=slack.new_hook()).text, 5, 0.2)
    assert set(bik.authorizations()) == {TOKEN}

    # Never logged, never sent to Slack in any call.
    assert TOKEN not in logs.text
    assert TOKEN not in json.dumps(slack.calls)


def test_rejected_credentials_show_bik_reason_on_the_input_and_nothing_is_saved(alpha, slack, bik, logs):
    _server, client, url = alpha
    bik.only_accept(OTHER_TOKEN)
    client.interaction(home_click("T0A", ADMIN, av.ACTION_CONNECT))
    form = opened(slack, 1)
    key, secret = "bik-api-key-typed-4455", "bik-api-secret-typed-99887766"
    ack = client.interaction(submission(form, "T0A", ADMIN, typed(admin_key=key, admin_secret=secret)))
    answer = ack.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [av.BLOCK_KEY]
    assert (
        "Invalid API credentials" in answer["errors"][av.BLOCK_KEY]
        and "401" in answer["errors"][av.BLOCK_KEY]
    )
    assert len(bik.requests) == 1  # one trial lookup
    assert rows(url, "SELECT workspace FROM bik_connections") == []
    assert rows(url, "SELECT id FROM workspace_changes WHERE kind = 'bik'") == []
    for value in (key, secret):
        assert value not in ack.text and value not in logs.text and value not in json.dumps(slack.calls)


def test_shape_errors_are_shown_on_the_right_input_before_bik_is_asked(alpha, slack, bik):
    _server, client, _url = alpha
    client.interaction(home_click("T0A", ADMIN, av.ACTION_CONNECT))
    form = opened(slack, 1)
    cases = [
        (typed(admin_token=None), av.BLOCK_TOKEN),
        (typed(admin_token="t" * 513), av.BLOCK_TOKEN),
        (typed(admin_token="a-token-123", admin_key="k-12345"), av.BLOCK_TOKEN),
        (typed(admin_key="only-a-key-1234"), av.BLOCK_SECRET),
        (typed(admin_secret="only-a-secret-1234"), av.BLOCK_KEY),
        (typed(admin_key="a-key-1234", admin_secret="“pasted”-secret"), av.BLOCK_SECRET),
    ]
    for values, block in cases:
        answer = client.interaction(submission(form, "T0A", ADMIN, values)).json()
        assert answer["response_action"] == "errors" and list(answer["errors"]) == [block], answer
    assert bik.requests == []


def test_a_slow_bik_gets_a_checking_view_then_the_outcome(alpha, slack, bik):
    _server, client, url = alpha
    bik.only_accept(TOKEN)
    bik.latency = 2.3  # past the 2-second acknowledgement budget
    client.interaction(home_click("T0A", ADMIN, av.ACTION_CONNECT))
    form = opened(slack, 1)
    started = time.monotonic()
    ack = client.interaction(submission(form, "T0A", ADMIN, typed(admin_token=TOKEN)))
    assert time.monotonic() - started < 2.8
    assert ack.json()["response_action"] == "update" and "Checking" in ack.text
    [update] = wait_for(lambda: slack.method_calls("views.update"), timeout=6)
    assert update["view_id"] == "V123" and "BIK connected" in text(view_of(update))
    assert [r.hint for r in rows(url, "SELECT hint FROM bik_connections")] == ["7Qz9"]
    assert "BIK is connected" in text(published(slack, ADMIN))


def test_an_admin_disconnects_bik(alpha, slack, bik):
    _server, client, url = alpha
    seed(url, "T0A", token=TOKEN)
    client.interaction(home_click("T0A", ADMIN, av.ACTION_DISCONNECT))
    home = published(slack, ADMIN)
    assert "BIK isn't connected" in text(home)
    assert rows(url, "SELECT workspace FROM bik_connections") == []
    [change] = rows(url, "SELECT actor, summary FROM workspace_changes WHERE summary = 'BIK disconnected'")
    assert change.actor == ADMIN


# -- who may -------------------------------------------------------------------------------------------


def forged_submissions(team: str, user: str, **kw: Any) -> list[dict[str, Any]]:
    meta = json.dumps({"w": team, "v": ""})
    connect = av.connect_modal(workspace=team, replacing=False)
    toml = av.toml_modal(workspace=team, document=None, version="")
    rule = av.rule_modal(workspace=team, target="C0NEW", document=None, version="")
    return [
        submission(connect, team, user, typed(admin_token=TOKEN), **kw),
        submission(
            {**toml, "private_metadata": meta},
            team,
            user,
            typed(admin_toml="[defaults]\nallow = true\n"),
            **kw,
        ),
        submission(rule, team, user, echoed(rule, admin_allow="true"), **kw),
    ]


def assert_nothing_changed(url: str, bik: Any) -> None:
    assert bik.requests == []
    assert rows(url, "SELECT workspace FROM bik_connections") == []
    assert rows(url, "SELECT workspace FROM policies") == []
    assert [r.kind for r in rows(url, "SELECT kind FROM workspace_changes")] == ["install"]


def test_a_member_sees_no_admin_section_and_forged_clicks_and_submissions_change_nothing(
    alpha, slack, bik, logs
):
    _server, client, url = alpha
    client.event(home_opened("T0A", MEMBER))
    home = published(slack, MEMBER)
    assert not admin_header(home) and not set(action_ids(home)) & set(av.ACTIONS)
    assert "BIK isn't connected in this workspace yet" in text(home)  # and an admin must connect it

    for action_id in av.ACTIONS:
        assert client.interaction(home_click("T0A", MEMBER, action_id)).status_code == 200
    notices = [opened(slack, n) for n in range(1, len(av.ACTIONS) + 1)]
    assert all(v["title"]["text"] == "Not allowed" for v in notices)
    for forged in forged_submissions("T0A", MEMBER):
        ack = client.interaction(forged)
        assert (
            ack.status_code == 200 and ack.json()["response_action"] == "update" and "Not allowed" in ack.text
        )
    time.sleep(0.2)
    assert_nothing_changed(url, bik)
    refused = logs.events("admin_refused")
    assert len(refused) == len(av.ACTIONS) + 3 and {e["reason"] for e in refused} == {"not_admin"}


def test_an_admin_of_another_organisation_is_never_an_admin_here(alpha, slack, bik, logs):
    _server, client, url = alpha
    slack.admins.add("U0EXTADM")  # an admin of their own organisation, met in a Slack Connect channel
    slack.user_teams["U0EXTADM"] = "T0EXT"
    # The payload says they are of another workspace: refused without even asking Slack.
    for forged in forged_submissions("T0A", "U0EXTADM", user_team="T0EXT"):
        assert "Not allowed" in client.interaction(forged).text
    click = home_click("T0A", "U0EXTADM", av.ACTION_CONNECT)
    click["user"]["team_id"] = "T0EXT"
    client.interaction(click)
    assert opened(slack, 1)["title"]["text"] == "Not allowed"
    # The payload says nothing of their workspace, but users.info does.
    client.event(home_opened("T0A", "U0EXTADM"))
    assert not admin_header(published(slack, "U0EXTADM"))
    time.sleep(0.2)
    assert_nothing_changed(url, bik)
    assert {e["reason"] for e in logs.events("admin_refused")} == {"other_workspace"}


def test_a_view_opened_in_one_workspace_cannot_change_another(start_distribution_bot, slack, bik):
    server, _ = start_distribution_bot()
    url = server.bot.settings.database_url
    for team in ("T0A", "T0B"):
        install_workspace(slack, server.url, team, team)
        seed(url, team, policy=CALLOWED_ONLY)
    slack.admins.update({ADMIN, "U0ADMB"})
    slack.user_teams["U0ADMB"] = "T0B"
    client_a, client_b = SlackClient(server.url, team="T0A"), SlackClient(server.url, team="T0B")
    client_a.interaction(home_click("T0A", ADMIN, av.ACTION_EDIT_TOML))
    toml = opened(slack, 1)
    assert json.loads(toml["private_metadata"])["w"] == "T0A"
    before = {team: stored_policy(url, team) for team in ("T0A", "T0B")}
    # B's admin sends A's form back as workspace B: refused, neither workspace changes.
    forged = submission(toml, "T0B", "U0ADMB", typed(admin_toml="[defaults]\nallow = true\n"))
    assert client_b.interaction(forged).text == ""
    # A form with no workspace in its metadata is refused by the admin listener itself.
    bare = submission(
        {**toml, "private_metadata": ""}, "T0B", "U0ADMB", typed(admin_toml="[defaults]\nallow = true\n")
    )
    assert "another workspace" in client_b.interaction(bare).text
    assert {team: stored_policy(url, team) for team in ("T0A", "T0B")} == before


# -- editing the policy --------------------------------------------------------------------------------


@pytest.fixture
def two_connected(alpha, slack, bik):
    """Alpha (T0A) and Beta (T0B), both connected to BIK, both allowing CALLOWED only."""
    server, client_a, url = alpha
    install_workspace(slack, server.url, "T0B", "Beta")
    seed(url, "T0A", token=TOKEN, policy=CALLOWED_ONLY)
    seed(url, "T0B", token=OTHER_TOKEN, policy=CALLOWED_ONLY)
    return server, client_a, SlackClient(server.url, team="T0B"), url


def allowed(client: SlackClient, slack: Any, channel: str, user: str = "U0AGENT") -> bool:
    reply = client.command("abcd-122345", channel=channel, user=user, response_url=slack.new_hook())
    return "Test Last" in reply.text


def test_an_admin_allows_a_channel_with_the_rule_form_in_that_workspace_only(two_connected, slack):
    _server, client_a, client_b, url = two_connected
    assert not allowed(client_a, slack, "C0NEW")
    client_a.interaction(home_click("T0A", ADMIN, av.ACTION_EDIT_RULE))
    picker = opened(slack, 1)
    ack = client_a.interaction(
        submission(picker, "T0A", ADMIN, echoed(picker, admin_target="channel", admin_channel="C0NEW"))
    )
    answer = ack.json()
    assert answer["response_action"] == "update"
    form = answer["view"]
    assert (
        form["callback_id"] == av.CALLBACK_RULE_SAVE and json.loads(form["private_metadata"])["t"] == "C0NEW"
    )
    values = echoed(
        form, admin_allow="true", admin_mask=["phone"], admin_people="only", admin_usergroups="S0OPS"
    )
    values["admin_users"]["admin_users_input"]["selected_users"] = [ADMIN, "U0AGENT"]
    saved = client_a.interaction(submission(form, "T0A", ADMIN, values))
    assert saved.status_code == 200 and saved.text == ""  # the modal closes
    document = stored_policy(url, "T0A")
    assert document is not None and "[channels.C0NEW]" in document and 'mask = [\n    "phone",\n]' in document
    [change] = rows(url, f"SELECT actor, summary, version FROM workspace_changes WHERE actor = '{ADMIN}'")  # noqa: S608
    assert change.summary.startswith("channels.C0NEW: new rule, allow true, mask [phone]")
    home = published(slack, ADMIN)  # republished after the save
    assert "&lt;#C0NEW&gt;" not in text(home) and "<#C0NEW>: allowed" in text(home)
    assert wait_for(lambda: allowed(client_a, slack, "C0NEW"), 5, 0.2)  # U0AGENT is one of the people
    assert not allowed(client_a, slack, "C0NEW", user="U0OTHER")  # only the people picked
    assert not allowed(client_b, slack, "C0NEW")  # B's policy is its own


def test_an_admin_edits_the_policy_as_toml_and_an_invalid_one_names_the_key(two_connected, slack):
    _server, client_a, client_b, url = two_connected
    client_a.interaction(home_click("T0A", ADMIN, av.ACTION_EDIT_TOML))
    form = opened(slack, 1)
    prefilled = next(b for b in form["blocks"] if b.get("block_id") == av.BLOCK_TOML)["element"][
        "initial_value"
    ]
    assert prefilled == CALLOWED_ONLY
    before = stored_policy(url, "T0A")
    bad = client_a.interaction(
        submission(
            form, "T0A", ADMIN, typed(admin_toml=CALLOWED_ONLY + '\n[channels.C0NEW]\nallow = "yes"\n')
        )
    ).json()
    assert bad["response_action"] == "errors" and "channels.C0NEW.allow" in bad["errors"][av.BLOCK_TOML]
    broken = client_a.interaction(submission(form, "T0A", ADMIN, typed(admin_toml="[defaults\n"))).json()
    assert "not valid TOML" in broken["errors"][av.BLOCK_TOML]
    assert stored_policy(url, "T0A") == before  # nothing saved
    new = CALLOWED_ONLY + "\n# on-call may look up\n[channels.C0NEW]\nallow = true\n"
    saved = client_a.interaction(submission(form, "T0A", ADMIN, typed(admin_toml=new)))
    assert saved.text == ""
    assert stored_policy(url, "T0A") == new  # kept as typed, comments included
    [change] = rows(url, f"SELECT summary FROM workspace_changes WHERE actor = '{ADMIN}'")  # noqa: S608
    assert change.summary == "TOML: channels.C0NEW: new rule, allow true"
    published(slack, ADMIN)
    assert wait_for(lambda: allowed(client_a, slack, "C0NEW"), 5, 0.2)
    assert not allowed(client_b, slack, "C0NEW")
    # The form was filled from the version before the save: sent again, it is refused.
    stale = client_a.interaction(submission(form, "T0A", ADMIN, typed(admin_toml=CALLOWED_ONLY))).json()
    assert stale["response_action"] == "errors" and "changed since" in stale["errors"][av.BLOCK_TOML]
    assert stored_policy(url, "T0A") == new


def test_a_save_racing_another_is_refused_by_the_store_not_only_by_the_form_check(two_connected, slack):
    """The form's version check reads, then saves: two admins saving at once can both pass the read.
    The save itself is conditional on that version (inside the write): the second is refused and the
    first admin's change stays. Here the read is made to see the policy as it was before the other's
    save committed — the race, made deterministic."""
    server, client_a, _client_b, url = two_connected
    client_a.interaction(home_click("T0A", ADMIN, av.ACTION_EDIT_TOML))
    form = opened(slack, 1)
    store = server.bot.distribution.tenants.store
    as_read = asyncio.run(store.policy("T0A"))
    theirs = CALLOWED_ONLY + "\n[channels.C0THEIRS]\nallow = true\n"
    seed(url, "T0A", policy=theirs)  # the other admin's save commits after this one's read

    async def read_before_their_commit(workspace: str) -> Any:
        return as_read

    store.policy = read_before_their_commit
    try:
        mine = CALLOWED_ONLY + "\n[channels.C0MINE]\nallow = true\n"
        answer = client_a.interaction(submission(form, "T0A", ADMIN, typed(admin_toml=mine))).json()
    finally:
        del store.policy
    assert answer["response_action"] == "errors" and "changed since" in answer["errors"][av.BLOCK_TOML]
    assert stored_policy(url, "T0A") == theirs


def test_slack_not_answering_users_info_refuses_and_keeps_the_form(alpha, slack):
    _server, client, url = alpha
    client.interaction(home_click("T0A", ADMIN, av.ACTION_EDIT_TOML))
    form = opened(slack, 1)
    slack.fail("users.info", "500", times=1)
    answer = client.interaction(submission(form, "T0A", ADMIN, typed(admin_toml=CALLOWED_ONLY))).json()
    assert answer["response_action"] == "errors" and "Slack didn't answer" in answer["errors"][av.BLOCK_TOML]
    assert stored_policy(url, "T0A") is None
    again = submission(form, "T0A", ADMIN, typed(admin_toml=CALLOWED_ONLY))
    again["trigger_id"] += "-2"  # the admin presses Save again: another request (not a replay)
    assert client.interaction(again).text == ""
    assert stored_policy(url, "T0A") == CALLOWED_ONLY


def test_an_org_wide_install_is_administered_by_the_org_s_admins_and_owners_only():
    """``verdict`` (pure): for an org-wide install only ``enterprise_user`` counts — the org's admin,
    owner or primary owner; an admin or owner of one workspace of the org is refused, with a message
    that says who can."""
    org = Installation(key="E0ORG", team_id=None, enterprise_id="E0ORG", org_wide=True)

    def person(**org_roles: Any) -> dict[str, Any]:
        return {
            "id": "W1",
            "team_id": "T0X",
            "is_admin": True,
            "is_owner": True,
            "is_primary_owner": True,
            "enterprise_user": {"id": "W1", "enterprise_id": "E0ORG", **org_roles},
        }

    refused = verdict(org, person(is_admin=False, is_owner=False), user_team_id="T0X", enterprise_id="E0ORG")
    assert (refused.admin, refused.reason, refused.message) == (False, "not_admin", NOT_ORG_ADMIN)
    assert verdict(org, person(is_admin=True), user_team_id="T0X").reason == "admin"
    assert verdict(org, person(is_owner=True), user_team_id="T0X").reason == "owner"
    assert verdict(org, person(is_primary_owner=True), user_team_id="T0X").reason == "owner"
    assert verdict(org, person(is_admin="true"), user_team_id="T0X").reason == "not_admin"  # only True counts
