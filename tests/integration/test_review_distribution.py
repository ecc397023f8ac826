"""Security review of distribution mode (SPEC 11): exploit attempts against the real app over HTTP.

Every test here is an attack by one of the threat model's attackers — a workspace admin of another
tenant, anyone who can click in a shared channel, anyone who can reach the port — sent as Slack (or a
browser) would send it, against workspaces installed through the real OAuth flow. A test that passes
shows the attack is refused. A test marked ``xfail(strict=True, reason="FINDING n: …")`` is an attack
that currently *succeeds*: the assertion states the secure behaviour, so when the finding is fixed
the test starts passing, strict xfail turns that into a failure, and the marker must be removed.

Where an attack needs Slack to fill a payload in a way the corpus has no capture of (Slack Connect
with both sides installed), the shape is the one the corpus and bolt-python's fixtures document and
the test says so.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from bot import admin_views as av
from tests import payloads
from tests.fakes.botserver import SlackClient, wait_for
from tests.fakes.install import install_workspace
from tests.fakes.workspace_db import execute, rows, seed

BIK_A = "bik-token-of-workspace-a-review-0001"
BIK_B = "bik-token-of-workspace-b-review-0002"
ALLOW_ALL = "[defaults]\nallow = true\n"
DASHBOARD = "https://bik-dashboard.example.com/customers/{bik_id}"
SHARED = "C0SHAREDAB"
SHARED_RULE = f'[defaults]\nallow = false\n\n[channels.{SHARED}]\nallow = true\nreply = "in_channel"\n'


# -- the database, as an admin (Home tab) or operator (CLI) would leave it --------------------------------


# -- payloads --------------------------------------------------------------------------------------------


def view_of(params: dict[str, Any]) -> dict[str, Any]:
    view = params["view"]
    return json.loads(view) if isinstance(view, str) else view


def opened(slack: Any, count: int) -> dict[str, Any]:
    calls = wait_for(
        lambda: len(slack.method_calls("views.open")) >= count and slack.method_calls("views.open")
    )
    return view_of(calls[count - 1])


def home_click(team: str, user: str, action_id: str) -> dict[str, Any]:
    return payloads.interaction(
        "block_actions_home", action_id=action_id, user=user, team=team, api_app_id="A1"
    )


def submission(opened_view: dict[str, Any], team: str, user: str, values: dict[str, Any]) -> dict[str, Any]:
    """``view_submission`` of a view the bot opened, as Slack echoes it back."""
    payload = payloads.interaction("view_submission", user=user, team=team, api_app_id="A1")
    view = payload["view"]
    for key in ("blocks", "callback_id", "private_metadata", "title", "submit", "close"):
        view[key] = opened_view.get(key, "" if key in ("callback_id", "private_metadata") else None)
    view["id"] = view["root_view_id"] = "V123"
    view["state"] = {"values": values}
    payload["response_urls"] = []
    return payload


def typed(**by_block: str | None) -> dict[str, Any]:
    return {
        block: {av.action_of(block): {"type": "plain_text_input", "value": value}}
        for block, value in by_block.items()
    }


def org_wide(payload: dict[str, Any], enterprise: str, workspace: str) -> dict[str, Any]:
    """An interaction of an org-wide install as Slack sends it: ``team`` null, ``enterprise`` the org,
    ``is_enterprise_install`` true, the workspace in ``user.team_id`` (and ``view.*team_id``)."""
    payload["team"] = None
    payload["enterprise"] = {"id": enterprise, "name": "Org"}
    payload["is_enterprise_install"] = True
    payload["user"]["team_id"] = workspace
    if isinstance(payload.get("view"), dict):
        payload["view"]["team_id"] = payload["view"]["app_installed_team_id"] = workspace
    return payload


def link_shared(channel: str, user: str, *, user_team: str, installation: str, bik_id: str) -> dict[str, Any]:
    """``link_shared`` in a Slack Connect channel, posted by ``user`` of ``user_team``, delivered with
    ``authorizations[0]`` naming ``installation`` — Slack puts *one* installation of the app that can
    see the event there (Events API: "authorizations … truncated to one"), not necessarily the poster's."""
    body = payloads.load("event_callback_link_shared_channel")
    body["team_id"] = body["context_team_id"] = user_team
    body["is_ext_shared_channel"] = True
    body["event"]["channel"] = channel
    body["event"]["user"] = user
    body["event"]["unfurl_id"] = f"{channel}.{body['event']['message_ts']}.x"
    body["event"]["links"] = [{"domain": "bik-dashboard.example.com", "url": DASHBOARD.format(bik_id=bik_id)}]
    body["event_id"] = f"Ev{user}{bik_id}"
    body["authorizations"] = [
        {
            "enterprise_id": None,
            "team_id": installation,
            "user_id": f"UBOT{installation}",
            "is_bot": True,
            "is_enterprise_install": False,
        }
    ]
    return body


def users_info_with(slack: Any, monkeypatch: pytest.MonkeyPatch, extra: dict[str, dict[str, Any]]) -> None:
    """``users.info`` answers as Enterprise Grid's do for these users (``enterprise_user`` and the rest)."""
    original = slack._answer

    def answer(method: str, params: dict[str, Any], token: str = "") -> dict[str, Any]:
        data = original(method, params, token)
        if method == "users.info" and data.get("ok") and str(params.get("user")) in extra:
            data["user"] = {**data["user"], **extra[str(params.get("user"))]}
        return data

    monkeypatch.setattr(slack, "_answer", answer)


# == FINDING 1: a tenant loaded while a change lands is cached past the change feed ========================


def test_a_policy_tightened_while_the_workspace_loads_still_applies(start_distribution_bot, slack, bik):
    server, _ = start_distribution_bot()
    url = server.bot.settings.database_url
    install_workspace(slack, server.url, "T0A", "Alpha")
    seed(url, "T0A", token=BIK_A, policy=ALLOW_ALL)
    tenants = server.bot.distribution.tenants
    store = tenants.store
    original = store.policy
    release = threading.Event()
    reading = threading.Event()

    async def slow_policy(workspace: str) -> Any:
        # The real read, then a pause before the tenant is built: the window every load has (the
        # bot row, a token rotation at Slack, the credentials, the policy: several round trips).
        found = await original(workspace)
        if not reading.is_set():
            reading.set()
            await asyncio.to_thread(release.wait, 5)
        return found

    store.policy = slow_policy  # type: ignore[method-assign]
    client = SlackClient(server.url, team="T0A")
    first: dict[str, httpx.Response] = {}
    asker = threading.Thread(
        target=lambda: first.setdefault(
            "r", client.command("abcd-122345", channel="C0OTHER", response_url=slack.new_hook())
        )
    )
    asker.start()
    assert reading.wait(5)
    # An admin of A withdraws every channel but one (Home tab, CLI or another process: same rows).
    seed(url, "T0A", policy="[defaults]\nallow = false\n\n[channels.CALLOWED]\nallow = true\n")
    [newest] = rows(url, "SELECT max(id) AS id FROM workspace_changes")
    # The change feed is read (every process does so each second): T0A is dropped, nothing was cached.
    wait_for(lambda: tenants._last_change >= newest.id, timeout=3)
    release.set()
    asker.join(10)
    store.policy = original  # type: ignore[method-assign]
    # The feed has nothing newer to say about T0A: what was just cached stays (MAX_AGE_SECONDS = 300).
    later = client.command("abcd-122345", channel="C0OTHER", response_url=slack.new_hook())
    assert "isn't allowed" in later.text, "C0OTHER still answered under the withdrawn policy"


# == FINDING 2: another organisation's member makes A's bot unfurl A's customers ==========================


def test_a_member_of_b_cannot_make_a_unfurl_a_customers_in_a_shared_channel(
    start_distribution_bot, slack, bik
):
    server, _ = start_distribution_bot(bik_dashboard_url=DASHBOARD)
    url = server.bot.settings.database_url
    a = install_workspace(slack, server.url, "T0A", "Alpha")
    install_workspace(
        slack, server.url, "T0B", "Beta"
    )  # B installed the same app: Slack now delivers B's links
    seed(url, "T0A", token=BIK_A, policy=SHARED_RULE)  # A lets the shared channel read cards (masked)
    seed(url, "T0B", token=BIK_B, policy="[defaults]\nallow = false\n")
    bik.only_accept(BIK_A, BIK_B)
    slack.shared_channels.add(SHARED)
    slack.user_teams["U0BOUTSIDER"] = "T0B"  # users.info with A's token: the poster is B's
    body = link_shared(SHARED, "U0BOUTSIDER", user_team="T0B", installation="T0A", bik_id="5482636")
    assert SlackClient(server.url, team="T0B").event(body).status_code == 200
    time.sleep(0.4)  # the unfurl runs in a task after the ack
    # Secure: A's bot never looks up A's customers for a person of another organisation.
    assert BIK_A not in bik.authorizations(), "A's BIK credentials were used for B's member"
    assert "chat.unfurl" not in slack.calls_with(a.token), "A's customer was posted at B's member's request"


# == FINDING 3: a workspace admin administers an org-wide install ==========================================


def test_a_workspace_admin_cannot_replace_an_org_wide_policy(start_distribution_bot, slack, bik, monkeypatch):
    """FINDING 3 (fixed): an org-wide install is administered by the org's admins and owners
    (``enterprise_user``), not by the admin or owner of one workspace inside the org."""
    server, _ = start_distribution_bot()
    url = server.bot.settings.database_url
    org = install_workspace(
        slack, server.url, None, "", enterprise_id="E0ORG", enterprise_name="Org", org_wide=True
    )
    assert org.response.status_code == 200

    # Each administers (or owns) T0SMALL, one small workspace of the org; only W0ORGADM is the org's admin.
    def org_user(user: str, *, workspace_role: str, org_role: str | None) -> dict[str, Any]:
        org_roles = {"is_admin": False, "is_owner": False, "is_primary_owner": False}
        if org_role:
            org_roles[org_role] = True
        return {
            "team_id": "T0SMALL",
            "is_admin": True,
            "is_owner": workspace_role == "owner",
            "is_primary_owner": workspace_role == "owner",
            "enterprise_user": {"id": user, "enterprise_id": "E0ORG", **org_roles},
        }

    users_info_with(
        slack,
        monkeypatch,
        {
            "W0WSADM": org_user("W0WSADM", workspace_role="admin", org_role=None),
            "W0WSOWN": org_user("W0WSOWN", workspace_role="owner", org_role=None),
            "W0ORGADM": org_user("W0ORGADM", workspace_role="admin", org_role="is_admin"),
        },
    )
    client = SlackClient(server.url)
    rules = '[defaults]\nallow = true\nexternal_unmasked = true\nreply = "in_channel"\n'
    forms = []
    for n, user in enumerate(("W0WSADM", "W0WSOWN", "W0ORGADM"), start=1):
        client.interaction(org_wide(home_click("T0SMALL", user, av.ACTION_EDIT_TOML), "E0ORG", "T0SMALL"))
        form = opened(slack, n)
        forms.append(form)
        if form.get("callback_id") == av.CALLBACK_TOML_SAVE:
            values = typed(admin_toml=rules)
            client.interaction(org_wide(submission(form, "T0SMALL", user, values), "E0ORG", "T0SMALL"))
        if user != "W0ORGADM":
            time.sleep(0.2)
            # A workspace admin, and a workspace's (primary) owner, are refused: nothing saved.
            assert form["title"]["text"] == "Not allowed", user
            assert "organisation" in json.dumps(form), "the refusal says who can"
            assert rows(url, "SELECT workspace FROM policies") == [], user
    # The org's own admin may (the same flow, so the refusals above are the check's, not the path's).
    assert forms[-1].get("callback_id") == av.CALLBACK_TOML_SAVE
    assert rows(url, "SELECT workspace, updated_by FROM policies") == [("E0ORG", "W0ORGADM")]


# == FINDING 4: a tenant's admin can blank out strings in every tenant's logs ==============================


def test_an_admin_of_b_cannot_redact_a_from_the_audit_log(start_distribution_bot, slack, bik, logs):
    """FINDING 4 (fixed): what is typed into Connect BIK joins the process-wide log scrubber only once
    BIK has accepted it; a refused "credential" equal to another tenant's id redacts nothing."""
    server, _ = start_distribution_bot()
    url = server.bot.settings.database_url
    install_workspace(slack, server.url, "T0ALPHA01", "Alpha")
    install_workspace(slack, server.url, "T0B", "Beta")
    seed(url, "T0ALPHA01", token=BIK_A, policy=ALLOW_ALL)
    bik.only_accept(BIK_A)
    slack.admins.add("U0ADMB")
    slack.user_teams["U0ADMB"] = "T0B"
    client_b = SlackClient(server.url, team="T0B")
    client_b.interaction(home_click("T0B", "U0ADMB", av.ACTION_CONNECT))
    form = opened(slack, 1)
    # B's admin "connects" with A's workspace id as the token: BIK refuses it, nothing is saved ...
    refused = client_b.interaction(submission(form, "T0B", "U0ADMB", typed(admin_token="T0ALPHA01"))).json()
    assert refused["response_action"] == "errors" and len(bik.requests) == 1  # BIK refused it
    assert rows(url, "SELECT workspace FROM bik_connections") == [("T0ALPHA01",)]
    # ... and A's next lookup is audited.
    SlackClient(server.url, team="T0ALPHA01").command("abcd-122345", response_url=slack.new_hook())
    audit = wait_for(lambda: [e for e in logs.events("lookup") if e.get("outcome") == "found"])
    assert audit[-1]["workspace"] == "T0ALPHA01", f"A's audit line says workspace={audit[-1]['workspace']!r}"


# == FINDING 5: anyone can grow the OAuth state table, one row per GET ======================================


def test_anonymous_install_page_requests_do_not_grow_the_database(start_distribution_bot):
    """FINDING 5 (fixed): every issue purges the expired states, and at most ``max_live`` states are
    live: past it the install page answers 503 (try again in a minute) and writes nothing."""
    server, _ = start_distribution_bot()
    url = server.bot.settings.database_url
    states = server.bot.distribution.flow.settings.state_store
    states.max_live = 10  # MAX_STATES (10,000) in production
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        answers = [browser.get("/slack/install") for _ in range(30)]
        assert [a.status_code for a in answers] == [200] * 10 + [503] * 20
        busy = answers[-1]
        assert busy.headers["retry-after"] == "60" and "try again in a minute" in busy.text.lower()
        assert "set-cookie" not in busy.headers and "oauth/v2/authorize" not in busy.text
        [count] = rows(url, "SELECT count(*) AS n FROM slack_oauth_states")
        assert count.n == 10, f"{count.n} rows written by 30 anonymous GETs"
        # Time passes (the states' 10 minutes): the next GET deletes every expired state first.
        execute(url, "UPDATE slack_oauth_states SET expire_at = '2000-01-01 00:00:00'")
        assert browser.get("/slack/install").status_code == 200
    [count] = rows(url, "SELECT count(*) AS n FROM slack_oauth_states")
    assert count.n == 1, f"{count.n} rows after the expired ones were purged"


# == FINDING 6: the OAuth callback logs the code (and anything typed in its place) =========================


def test_a_failed_oauth_exchange_does_not_log_the_code(start_distribution_bot, logs):
    """FINDING 6 (fixed): a failed exchange is one ``oauth_exchange_failed`` line with Slack's error
    code, rate-limited; the code (attacker-sized) is never logged, nor Bolt's own line."""
    server, _ = start_distribution_bot()
    code = "stolen-or-forged-code-" + "Z" * 40
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        page = browser.get("/slack/install")
        link = re.search(r'href="([^"]*oauth/v2/authorize[^"]*)"', page.text)
        assert link is not None
        state = parse_qs(urlparse(html.unescape(link.group(1))).query)["state"][0]
        cookie = page.headers["set-cookie"].split(";", 1)[0]
        done = browser.get(
            "/slack/oauth_redirect", params={"code": code, "state": state}, headers={"Cookie": cookie}
        )
    assert done.status_code == 401  # the stand-in's oauth.v2.access said invalid_code
    assert code not in logs.text and "Failed to fetch oauth.v2.access" not in logs.text
    [line] = logs.events("oauth_exchange_failed")
    assert line["error"] == "invalid_code" and line["level"] == "warning"


# == FINDING 7: /slack/install?team= is pasted into Slack's authorize URL unencoded ========================


def test_the_install_page_does_not_let_a_link_add_oauth_parameters(start_distribution_bot):
    """FINDING 7 (fixed): ``team`` reaches Slack's authorize URL only when it is a team or org id."""
    server, _ = start_distribution_bot()
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        page = browser.get(
            "/slack/install", params={"team": "T0A&user_scope=admin,chat:write&scope=chat:write"}
        )
    link = re.search(r'href="([^"]*oauth/v2/authorize[^"]*)"', page.text)
    assert link is not None
    query = parse_qs(urlparse(html.unescape(link.group(1))).query, keep_blank_values=True)
    assert query.get("user_scope") == [""], f"user_scope became {query.get('user_scope')}"
    assert len(query.get("scope", [])) == 1, f"scope became {query.get('scope')}"
    assert "team" not in query
    assert set(query) <= {"state", "client_id", "scope", "user_scope", "redirect_uri"}

    def team_of(params: dict[str, Any]) -> list[str] | None:
        page = httpx.get(server.url + "/slack/install", params=params, timeout=10)
        link = re.search(r'href="([^"]*oauth/v2/authorize[^"]*)"', page.text)
        assert link is not None
        return parse_qs(urlparse(html.unescape(link.group(1))).query).get("team")

    assert team_of({"team": "T0A1B2C3"}) == ["T0A1B2C3"]  # a team id is still passed on
    assert team_of({"team": "E0ORG"}) == ["E0ORG"]
    for bad in ("t0lower", "T0A#x", "T0A redirect_uri=x", "X0A1", "T" + "1" * 40):
        assert team_of({"team": bad}) is None, bad
    assert team_of({"scope": "admin", "redirect_uri": "https://evil.example"}) is None


# == FINDING 8: credentials saved by a Connect that outlives an uninstall ==================================


def test_an_uninstall_during_a_slow_connect_leaves_no_credentials(start_distribution_bot, slack, bik):
    """FINDING 8 (fixed): the Home tab saves only while the app is installed, checked inside the write
    (which an uninstall waits for, or which sees the uninstall): a trial outliving it saves nothing."""
    server, _ = start_distribution_bot()
    url = server.bot.settings.database_url
    install_workspace(slack, server.url, "T0A", "Alpha")
    slack.admins.add("U0ADMA")
    bik.only_accept(BIK_A)
    bik.latency = 1.0  # a slow BIK: the trial is still running when the uninstall arrives
    client = SlackClient(server.url, team="T0A")
    client.interaction(home_click("T0A", "U0ADMA", av.ACTION_CONNECT))
    form = opened(slack, 1)
    acks: dict[str, httpx.Response] = {}
    admin = threading.Thread(
        target=lambda: acks.setdefault(
            "r", client.interaction(submission(form, "T0A", "U0ADMA", typed(admin_token=BIK_A)))
        )
    )
    admin.start()
    wait_for(lambda: bik.requests, timeout=3)  # the trial lookup is at BIK
    uninstall = {
        "token": "x",
        "team_id": "T0A",
        "api_app_id": "A1",
        "event": {"type": "app_uninstalled"},
        "type": "event_callback",
        "event_id": "EvT0Auninstall",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": "T0A",
                "user_id": "UBOTT0A",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
    assert client.event(uninstall).status_code == 200  # uninstalled: tokens, credentials, policy deleted
    admin.join(5)  # the trial has finished, after the uninstall
    assert rows(url, "SELECT team_id FROM slack_bots WHERE team_id = 'T0A'") == []
    assert rows(url, "SELECT workspace FROM bik_connections") == [], (
        "BIK credentials of an uninstalled workspace"
    )
    assert len(bik.requests) == 1 and BIK_A in bik.authorizations()  # BIK did accept them
    answer = acks["r"].json()
    assert answer["response_action"] == "errors" and "uninstalled" in json.dumps(answer["errors"])
    assert rows(url, "SELECT kind FROM workspace_changes WHERE workspace = 'T0A'") == [("uninstall",)]


# == FINDING 9: Connect BIK is an unthrottled credential-checking oracle ===================================


def test_connect_trials_are_throttled(start_distribution_bot, slack, bik):
    """FINDING 9 (fixed): Connect BIK trials have their own budget — 5 per person and 5 per workspace
    every 10 minutes — and a refused one says so on the input, with nothing sent to BIK."""
    server, _ = start_distribution_bot(bik_rate_limit="3/minute")
    install_workspace(slack, server.url, "T0B", "Beta")
    slack.admins.update({"U0ADMB", "U0ADMB2"})
    slack.user_teams["U0ADMB"] = slack.user_teams["U0ADMB2"] = "T0B"
    bik.only_accept(BIK_A)
    client = SlackClient(server.url, team="T0B")
    client.interaction(home_click("T0B", "U0ADMB", av.ACTION_CONNECT))
    form = opened(slack, 1)
    answers = []
    for n in range(12):
        guess = submission(form, "T0B", "U0ADMB", typed(admin_token=f"guessed-bik-token-{n:04d}"))
        guess["trigger_id"] = f"1.2.{n}"
        answers.append(client.interaction(guess).json())
    # Lookups here are held to 3 a minute; credential trials have a budget too (a few per
    # workspace per ten minutes is plenty for a person fixing a typo).
    assert len(bik.requests) == 5, f"{len(bik.requests)} credential trials reached BIK within a second"
    errors = [json.dumps(a["errors"]) for a in answers]
    assert all("BIK refused" in e for e in errors[:5])
    assert all(
        "You've tried BIK credentials 5 times" in e and "nothing was sent to BIK" in e for e in errors[5:]
    )
    # Another admin of the same workspace: the workspace's budget is spent too.
    other = submission(form, "T0B", "U0ADMB2", typed(admin_token="guessed-bik-token-9999"))
    answer = client.interaction(other).json()
    assert "This workspace has tried BIK credentials" in json.dumps(answer["errors"])
    assert len(bik.requests) == 5


# == FINDING 10: org-wide tenants never see a Slack Connect outsider as external ===========================


def test_an_outsider_clicking_share_on_an_org_wide_tenant_is_refused(start_distribution_bot, slack, bik):
    server, _ = start_distribution_bot()
    url = server.bot.settings.database_url
    install_workspace(
        slack, server.url, None, "", enterprise_id="E0ORG", enterprise_name="Org", org_wide=True
    )
    seed(url, "E0ORG", token=BIK_A, policy=ALLOW_ALL)
    hook = slack.new_hook()
    click = payloads.interaction(
        "block_actions_org_wide",
        action_id="share_in_channel",
        value="partner:abcd-122345",
        channel="CALLOWED",
        response_url=hook,
    )
    click["enterprise"] = {"id": "E0ORG", "name": "Org"}  # the installation's org, as Slack names it
    click["user"]["team_id"] = "T0OUTSIDE"  # a person of another organisation, in a Slack Connect channel
    click["user"]["id"] = "U0OUTSIDER"
    slack.user_teams["U0OUTSIDER"] = "T0OUTSIDE"
    assert SlackClient(server.url).interaction(click).status_code == 200
    posts = wait_for(lambda: slack.posts(hook), timeout=5)
    assert all(p.get("response_type") != "in_channel" for p in posts), "the outsider shared a card"


# == FINDING 11: a click from B on A's card in a shared channel is served by B's tenant ===================


def test_b_cannot_rewrite_a_card_that_a_posted_in_a_shared_channel(start_distribution_bot, slack, bik):
    server, _ = start_distribution_bot()
    url = server.bot.settings.database_url
    a = install_workspace(slack, server.url, "T0A", "Alpha")
    install_workspace(slack, server.url, "T0B", "Beta")
    seed(url, "T0A", token=BIK_A, policy=SHARED_RULE)
    seed(url, "T0B", token=BIK_B, policy=SHARED_RULE + "external_unmasked = true\n")  # B's admin's choice
    bik.only_accept(BIK_A, BIK_B)
    slack.shared_channels.add(SHARED)
    hook = slack.new_hook()
    # B's member clicks Refresh on A's in-channel card. Slack Connect fills team / user.team_id with the
    # clicker's workspace (SURFACES.md §7, bolt-python connect_channel_payload); message.bot_id is A's bot.
    click = payloads.interaction(
        "block_actions_in_channel",
        action_id="refresh_card",
        value="partner:abcd-122345",
        channel=SHARED,
        user="U0BMEMBER",
        team="T0B",
        response_url=hook,
        api_app_id="A1",
    )
    click["message"]["bot_id"] = "BT0A"
    click["message"]["user"] = "UBOTT0A"
    assert SlackClient(server.url, team="T0B").interaction(click).status_code == 200
    time.sleep(0.4)  # the refresh runs in a task after the ack
    replaced = [p for p in slack.posts(hook) if p.get("replace_original")]
    assert BIK_B not in bik.authorizations() and replaced == [], "A's card was replaced with B's lookup"
    assert "chat.update" not in slack.calls_with(a.token)


# == what holds ==============================================================================================


def test_a_callback_without_the_state_cookie_installs_nothing(start_distribution_bot, slack):
    """Login-CSRF / code injection: a state issued to the attacker's browser, replayed in another's
    without the cookie, or a state never issued: refused before oauth.v2.access."""
    server, _ = start_distribution_bot()
    url = server.bot.settings.database_url
    code, _token = slack.register_install("T0VICTIM", "Victim")
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        page = browser.get("/slack/install")
        link = re.search(r'href="([^"]*oauth/v2/authorize[^"]*)"', page.text)
        assert link is not None
        state = parse_qs(urlparse(html.unescape(link.group(1))).query)["state"][0]
        no_cookie = browser.get(
            "/slack/oauth_redirect", params={"code": code, "state": state}, headers={"Cookie": ""}
        )
        wrong = browser.get(
            "/slack/oauth_redirect",
            params={"code": code, "state": "not-issued"},
            headers={"Cookie": "slack-app-oauth-state=not-issued"},
        )
    assert no_cookie.status_code == 400 and wrong.status_code == 401
    assert slack.method_calls("oauth.v2.access") == []
    assert rows(url, "SELECT team_id FROM slack_bots") == []


def test_an_org_wide_install_answers_no_request_for_a_workspace_install(start_distribution_bot, slack, bik):
    """An org admin's org-wide install (E…) is never found for a workspace key (T…), nor the reverse:
    the install of one org cannot claim a workspace that installed on its own."""
    server, _ = start_distribution_bot()
    url = server.bot.settings.database_url
    install_workspace(
        slack, server.url, None, "", enterprise_id="E0EVIL", enterprise_name="Evil", org_wide=True
    )
    seed(url, "E0EVIL", token=BIK_B, policy=ALLOW_ALL)
    body = payloads.form_body(
        "command_enterprise_grid",
        team_id="T0A",
        enterprise_id="E0EVIL",
        channel_id="CALLOWED",
        user_id="W0USER",
        text="abcd-122345",
        response_url=slack.new_hook(),
        is_enterprise_install="false",  # T0A's own (workspace) installation is asked for: none exists
    )
    reply = SlackClient(server.url).post(body)
    assert "isn't installed" in reply.text and bik.requests == []


def test_a_b_admin_submitting_a_form_opened_in_a_connect_channel_is_refused(
    start_distribution_bot, slack, bik
):
    """Slack Connect modal: ``view.app_installed_team_id`` names A (so A's tenant serves it) while
    ``team`` / ``user.team_id`` / ``enterprise`` are B's admin's own: refused without asking Slack."""
    server, _ = start_distribution_bot()
    url = server.bot.settings.database_url
    install_workspace(slack, server.url, "T0A", "Alpha")
    install_workspace(slack, server.url, "T0B", "Beta")
    slack.admins.update({"U0ADMA", "U0ADMB"})
    slack.user_teams["U0ADMB"] = "T0B"
    client_a = SlackClient(server.url, team="T0A")
    client_a.interaction(home_click("T0A", "U0ADMA", av.ACTION_EDIT_TOML))
    form = opened(slack, 1)
    forged = submission(form, "T0B", "U0ADMB", typed(admin_toml=ALLOW_ALL))
    forged["view"]["app_installed_team_id"] = "T0A"
    forged["enterprise"] = {"id": "E0BORG", "name": "B"}
    answer = client_a.interaction(forged)
    assert "Not allowed" in answer.text
    assert rows(url, "SELECT workspace FROM policies") == []
