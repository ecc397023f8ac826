"""Distribution mode over real HTTP (SPEC 11): workspaces installed through Slack's OAuth flow (the
stand-in's ``oauth.v2.access``), each answered with its own bot token, its own BIK credentials and
its own policy; uninstall and revocation; nothing of one workspace reaching another."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from pydantic import SecretStr

from tests import payloads
from tests.fakes import bik as bik_fake
from tests.fakes.botserver import SlackClient, wait_for
from tests.fakes.install import install_workspace
from tests.fakes.workspace_db import CREDENTIALS_KEY, execute, rows, seed

ALLOW_ALL = "[defaults]\nallow = true\n"
ALLOW_CALLOWED = "[defaults]\nallow = false\n\n[channels.CALLOWED]\nallow = true\n"
BIK_A = "bik-token-of-workspace-a-0001"
BIK_B = "bik-token-of-workspace-b-0002"


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message)


@pytest.fixture
def two(start_distribution_bot, slack, bik, database_url):
    """Workspaces A (T0A) and B (T0B) installed through the flow, each with its own BIK token; on
    SQLite and on PostgreSQL."""
    server, _ = start_distribution_bot(database_url=database_url)
    url = server.bot.settings.database_url
    a = install_workspace(slack, server.url, "T0A", "Alpha")
    b_ = install_workspace(slack, server.url, "T0B", "Beta")
    assert a.response.status_code == 200 and b_.response.status_code == 200
    seed(url, "T0A", token=BIK_A, policy=ALLOW_ALL)
    seed(url, "T0B", token=BIK_B, policy=ALLOW_CALLOWED)
    bik.only_accept(BIK_A, BIK_B)
    return server, a, b_, SlackClient(server.url, team="T0A"), SlackClient(server.url, team="T0B")


def test_each_workspace_looks_up_with_its_own_bot_token_bik_credentials_and_policy(two, slack, bik):
    _server, a, b_, client_a, client_b = two
    reply_a = client_a.command("abcd-122345", channel="COTHER", response_url=slack.new_hook()).json()
    assert reply_a["blocks"][0]["text"]["text"] == "Test Last"  # A allows every channel
    reply_b = client_b.command("abcd-122345", channel="COTHER", response_url=slack.new_hook()).json()
    assert "isn't allowed" in text_of(reply_b) and "Home tab" in text_of(reply_b)  # B: CALLOWED only
    reply_b = client_b.command("abcd-122345", channel="CALLOWED", response_url=slack.new_hook()).json()
    assert reply_b["blocks"][0]["text"]["text"] == "Test Last"
    assert bik.authorizations() == [BIK_A, BIK_B]  # each its own credentials; B's denial cost none
    # Each workspace's Slack facts were asked with its own token, never the other's.
    assert "users.info" in slack.calls_with(a.token) and "users.info" in slack.calls_with(b_.token)
    used = {token for _, token in slack.tokens_used}
    assert used <= {a.token, b_.token, ""}


def test_a_workspace_without_bik_connected_is_told_to_connect_it_and_bik_is_not_called(
    start_distribution_bot, slack, bik
):
    server, _ = start_distribution_bot()
    install_workspace(slack, server.url, "T0C", "Gamma")
    seed(server.bot.settings.database_url, "T0C", policy=ALLOW_ALL)
    reply = SlackClient(server.url, team="T0C").command("abcd-122345", response_url=slack.new_hook()).json()
    assert "BIK isn't connected" in text_of(reply) and "Home" in text_of(reply)
    assert bik.requests == []


def test_a_workspace_that_never_installed_is_told_so(start_distribution_bot, slack, bik):
    server, _ = start_distribution_bot()
    reply = SlackClient(server.url, team="T0NOPE").command("abcd-122345", response_url=slack.new_hook())
    assert reply.status_code == 200
    assert "isn't installed" in reply.text
    assert bik.requests == []


def uninstalled(team: str, event_type: str = "app_uninstalled", **event: Any) -> dict[str, Any]:
    return {
        "token": "Xk3pQ9vWzL2mN8rT5yB1cD7f",
        "team_id": team,
        "api_app_id": "A1",
        "event": {"type": event_type, **event},
        "type": "event_callback",
        "event_id": f"Ev{team}{event_type}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team,
                "user_id": f"UBOT{team}",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def test_uninstall_deletes_that_workspace_only_and_its_token_is_never_used_again(two, slack, bik):
    server, a, _, client_a, client_b = two
    url = server.bot.settings.database_url
    client_a.command("abcd-122345", response_url=slack.new_hook())  # A's tenant cached, token in use
    assert client_a.event(uninstalled("T0A")).status_code == 200
    calls_before = len(slack.calls_with(a.token))
    for table in ("slack_bots", "slack_installations"):
        assert rows(url, f"SELECT team_id FROM {table} WHERE team_id = 'T0A'") == []  # noqa: S608
        assert rows(url, f"SELECT team_id FROM {table} WHERE team_id = 'T0B'") != []  # noqa: S608
    for table in ("bik_connections", "policies"):
        assert [r.workspace for r in rows(url, f"SELECT workspace FROM {table}")] == ["T0B"]  # noqa: S608
    # A's next request: not installed; no BIK call, no Slack call with the revoked token.
    reply = client_a.command("abcd-122345", response_url=slack.new_hook())
    assert "isn't installed" in reply.text
    time.sleep(0.2)
    assert len(slack.calls_with(a.token)) == calls_before
    assert bik.authorizations() == [BIK_A]
    # B is untouched.
    reply_b = client_b.command("abcd-122345", response_url=slack.new_hook()).json()
    assert reply_b["blocks"][0]["text"]["text"] == "Test Last"


def test_tokens_revoked_for_the_bot_deletes_the_bot_and_installation_rows(two, slack):
    server, a, _, client_a, _ = two
    url = server.bot.settings.database_url
    body = uninstalled("T0A", "tokens_revoked", tokens={"oauth": [], "bot": [f"UBOT{a.key}"]})
    assert client_a.event(body).status_code == 200
    assert rows(url, "SELECT team_id FROM slack_bots WHERE team_id = 'T0A'") == []
    assert rows(url, "SELECT team_id FROM slack_installations WHERE team_id = 'T0A'") == []
    # Revoking tokens is not uninstalling: A's BIK connection and policy stay for a reinstall.
    assert [r.workspace for r in rows(url, "SELECT workspace FROM bik_connections ORDER BY workspace")] == [
        "T0A",
        "T0B",
    ]
    assert "isn't installed" in client_a.command("x-1", response_url=slack.new_hook()).text
    assert "auth.test" not in slack.calls_with(a.token)[1:]  # only the install's own check, before


def test_user_token_revocation_alone_changes_nothing(two, slack):
    _server, _, _, client_a, _ = two
    body = uninstalled("T0A", "tokens_revoked", tokens={"oauth": ["UINSTALLER"], "bot": []})
    assert client_a.event(body).status_code == 200
    assert (
        client_a.command("abcd-122345", response_url=slack.new_hook()).json()["blocks"][0]["type"] == "header"
    )


def test_rate_limits_recent_lookups_and_audit_lines_are_keyed_by_workspace(
    start_distribution_bot, slack, bik, logs
):
    server, _ = start_distribution_bot(bik_rate_limit="2/minute")
    url = server.bot.settings.database_url
    for team in ("T0A", "T0B"):
        install_workspace(slack, server.url, team, team)
        seed(url, team, token=BIK_A, policy=ALLOW_ALL)
    client_a, client_b = SlackClient(server.url, team="T0A"), SlackClient(server.url, team="T0B")
    # The same user id in two workspaces: spending A's budget leaves B's whole.
    for _ in range(2):
        assert (
            client_a.command("abcd-122345", response_url=slack.new_hook()).json()["blocks"][0]["type"]
            == "header"
        )
    assert "limit" in client_a.command("abcd-122345", response_url=slack.new_hook()).text
    assert (
        client_b.command("bik:5482636", response_url=slack.new_hook()).json()["blocks"][0]["type"] == "header"
    )
    audit = [e for e in logs.events("lookup") if e.get("outcome") == "found"]
    assert sorted(e["workspace"] for e in audit) == ["T0A", "T0A", "T0B"]
    # B's App Home lists B's one lookup, not A's two.
    home = payloads.load("event_callback_app_home_opened_home")
    home["team_id"] = "T0B"
    home["enterprise_id"] = None
    home["authorizations"] = [
        {
            "enterprise_id": None,
            "team_id": "T0B",
            "user_id": "UBOTT0B",
            "is_bot": True,
            "is_enterprise_install": False,
        }
    ]
    home["event"]["user"] = "U1"
    assert client_b.event(home).status_code == 200
    published = wait_for(lambda: slack.method_calls("views.publish"))
    view = (
        json.loads(published[-1]["view"]) if isinstance(published[-1]["view"], str) else published[-1]["view"]
    )
    assert "5482636" in text_of(view) and "abcd-122345" not in text_of(view)


def test_concurrent_lookups_of_the_same_id_in_two_workspaces_never_share_a_bik_call(two, slack, bik):
    _, _, _, client_a, client_b = two
    bik.latency = 0.3
    import threading

    replies: dict[str, Any] = {}

    def ask(name: str, client: SlackClient) -> None:
        replies[name] = client.command(
            "abcd-122345", channel="CALLOWED", response_url=slack.new_hook()
        ).json()

    threads = [threading.Thread(target=ask, args=(n, c)) for n, c in (("a", client_a), ("b", client_b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(bik.authorizations()) == sorted([BIK_A, BIK_B])
    assert all(r["blocks"][0]["text"]["text"] == "Test Last" for r in replies.values())


def test_a_policy_change_in_one_process_applies_in_another_within_5_seconds(
    start_distribution_bot, slack, bik, database_url
):
    first, _ = start_distribution_bot(database_url=database_url)
    url = database_url
    second, _ = start_distribution_bot(database_url=url)
    install_workspace(slack, first.url, "T0A", "Alpha")
    seed(url, "T0A", token=BIK_A, policy=ALLOW_CALLOWED)
    on_second = SlackClient(second.url, team="T0A")
    assert (
        "isn't allowed"
        in on_second.command("abcd-122345", channel="COTHER", response_url=slack.new_hook()).text
    )
    changed = time.monotonic()
    seed(url, "T0A", policy=ALLOW_ALL)  # as the first process's Home tab would save it

    def applied() -> bool:
        reply = on_second.command("abcd-122345", channel="COTHER", response_url=slack.new_hook())
        return "Test Last" in reply.text

    wait_for(applied, timeout=5, interval=0.2)
    assert time.monotonic() - changed < 5


def test_org_wide_install_answers_every_workspace_of_the_org(start_distribution_bot, slack, bik):
    server, _ = start_distribution_bot()
    org = install_workspace(
        slack, server.url, None, "", enterprise_id="E0ORG", enterprise_name="Org", org_wide=True
    )
    assert org.response.status_code == 200
    seed(server.bot.settings.database_url, "E0ORG", token=BIK_A, policy=ALLOW_ALL)
    body = payloads.form_body(
        "command_enterprise_grid",
        team_id="T0WS1",
        enterprise_id="E0ORG",
        channel_id="CALLOWED",
        user_id="W0USER",
        text="abcd-122345",
        response_url=slack.new_hook(),
        is_enterprise_install="true",  # an org-wide app's command says so (a string, as Slack sends it)
    )
    reply = SlackClient(server.url).post(body)
    assert reply.status_code == 200
    assert reply.json()["blocks"][0]["text"]["text"] == "Test Last", reply.text
    assert "users.info" in slack.calls_with(org.token)


def global_shortcut(team: str) -> dict[str, Any]:
    payload = payloads.interaction("shortcut_global", user="U1", team=team)
    payload["callback_id"] = "lookup_customer"
    return payload


def submitted(opened: dict[str, Any], team: str, text: str) -> dict[str, Any]:
    """``view_submission`` of ``opened`` as Slack echoes it back, for workspace ``team``."""
    from bot import views

    payload = payloads.interaction("view_submission", user="U1", team=team, api_app_id="A1")
    view = payload["view"]
    for key in ("blocks", "callback_id", "private_metadata", "title", "submit", "close"):
        view[key] = opened.get(key, "" if key in ("callback_id", "private_metadata") else None)
    view["id"] = view["root_view_id"] = "V123"
    view["state"] = {
        "values": {
            views.BLOCK_QUERIES: {views.ACTION_QUERIES: {"type": "plain_text_input", "value": text}},
            views.BLOCK_POST_TO: {
                views.ACTION_POST_TO: {"type": "conversations_select", "selected_conversation": None}
            },
        }
    }
    payload["response_urls"] = []
    return payload


def opened_view(slack) -> dict[str, Any]:
    params = wait_for(lambda: slack.method_calls("views.open"))[-1]
    return json.loads(params["view"]) if isinstance(params["view"], str) else params["view"]


def test_a_modal_opened_for_one_workspace_is_refused_when_sent_back_for_another(two, slack, bik, logs):
    server, a, b_, client_a, client_b = two
    seed(server.bot.settings.database_url, "T0A", policy=ALLOW_ALL + "\n[direct_messages]\nallow = true\n")
    time.sleep(1.2)  # the change feed: the new policy is read within a second
    assert client_a.interaction(global_shortcut("T0A")).status_code == 200
    opened = opened_view(slack)
    assert "views.open" in slack.calls_with(a.token)
    assert json.loads(opened["private_metadata"])["w"] == "T0A"
    # The same view, submitted as workspace B (whose policy, credentials and token differ): refused.
    forged = client_b.interaction(submitted(opened, "T0B", "abcd-122345"))
    assert forged.status_code == 200 and forged.text == ""
    assert [e["view_workspace"] for e in logs.events("cross_workspace_view")] == ["T0A"]
    time.sleep(0.3)
    assert bik.requests == [] and "views.update" not in slack.calls_with(b_.token)
    # Sent back for A, it is served: A's credentials, A's token.
    ok = client_a.interaction(submitted(opened, "T0A", "abcd-122345"))
    assert ok.status_code == 200
    wait_for(lambda: bik.requests)
    assert bik.authorizations() == [BIK_A]


def test_a_broken_database_gets_a_clear_answer_not_a_500(start_distribution_bot, slack, bik, logs):
    server, _ = start_distribution_bot()
    url = server.bot.settings.database_url
    install_workspace(slack, server.url, "T0A", "Alpha")
    execute(url, "ALTER TABLE slack_bots RENAME TO slack_bots_gone")  # every lookup of a workspace fails
    reply = SlackClient(server.url, team="T0A").command("abcd-122345", response_url=slack.new_hook())
    assert reply.status_code == 200
    assert "can't reach its database" in reply.json()["text"]
    assert [e["error"] for e in logs.events("database_unavailable")] == ["OperationalError"]
    assert bik.requests == []
    # An event (an uninstall, say) is refused with 503, so that Slack sends it again later.
    uninstall = SlackClient(server.url).event(uninstalled("T0A"))
    assert uninstall.status_code == 503


def test_no_credential_reaches_logs_replies_metrics_or_audit(two, slack, bik, logs):
    server, a, b_, client_a, client_b = two
    secrets = [a.token, b_.token, BIK_A, BIK_B, CREDENTIALS_KEY, server.bot.settings.slack_client_secret]
    secrets = [s.get_secret_value() if isinstance(s, SecretStr) else s for s in secrets]
    hook = slack.new_hook()
    replies = [
        client_a.command("abcd-122345", response_url=hook).text,
        client_b.command("abcd-122345", response_url=hook).text,
        client_b.command("abcd-122345", channel="COTHER", response_url=hook).text,
    ]
    bik.script("*", bik_fake.status(401, {"status": 401, "errors": [{"message": "Unauthorized"}]}))
    replies.append(client_a.command("nobody-1", response_url=hook).text)  # BIK refuses A's credentials
    client_a.event(uninstalled("T0A"))
    metrics = SlackClient(server.url).http.get(server.url + "/metrics").text
    seen = "\n".join([logs.text, metrics, *replies, json.dumps(slack.posts(hook))])
    assert "Test Last" in seen and "lookup" in logs.text  # the test looked at real output
    for secret in secrets:
        assert secret not in seen


def test_a_bot_token_close_to_expiry_is_rotated_before_use_and_the_old_one_is_dropped(
    start_distribution_bot, slack, bik
):
    server, _ = start_distribution_bot()
    url = server.bot.settings.database_url
    a = install_workspace(slack, server.url, "T0A", "Alpha", rotation=True)
    seed(url, "T0A", token=BIK_A, policy=ALLOW_ALL)
    client = SlackClient(server.url, team="T0A")
    assert (
        client.command("abcd-122345", response_url=slack.new_hook()).json()["blocks"][0]["type"] == "header"
    )
    assert slack.calls_with(a.token)[-1] == "users.info"  # the token works until it nears expiry
    # An hour left: inside the 2 hours before expiry in which the bot refreshes the token.
    execute(url, "UPDATE slack_bots SET bot_token_expires_at = CURRENT_TIMESTAMP")
    seed(url, "T0A", policy=ALLOW_ALL + "\n")  # any change: every process re-reads the workspace
    time.sleep(1.2)
    slack.guests.add("U2")  # a new user: users.info is asked again, with whatever token is current
    old_calls = len(slack.calls_with(a.token))
    reply = client.command("abcd-122345", user="U2", response_url=slack.new_hook())
    assert "Guest" in reply.text or "guest" in reply.text
    [refresh] = [p for p in slack.method_calls("oauth.v2.access") if p.get("grant_type") == "refresh_token"]
    assert refresh["refresh_token"].startswith("xoxe-1-refresh-")
    assert a.token in slack.revoked  # the stand-in retired it on refresh
    assert len(slack.calls_with(a.token)) == old_calls  # the old token was not used again
    new = [t for m, t in slack.tokens_used if m == "users.info"][-1]
    assert new != a.token and new.startswith("xoxe.xoxb-1-T0A")
    stored = rows(url, "SELECT bot_token FROM slack_bots WHERE team_id = 'T0A' AND bot_token IS NOT NULL")
    assert [r.bot_token for r in stored][-1] == new


def test_slack_facts_cached_for_one_workspace_are_never_used_for_another(two, slack, bik):
    _, _, b_, client_a, client_b = two
    ok = client_a.command("abcd-122345", channel="CALLOWED", response_url=slack.new_hook()).json()
    assert ok["blocks"][0]["type"] == "header"  # U1 is a member in A: cached for A
    slack.guests.add("U1")  # ... while B's directory must ask B's Slack about its own U1
    denied = client_b.command("abcd-122345", channel="CALLOWED", response_url=slack.new_hook())
    assert "Guest" in denied.text
    assert slack.calls_with(b_.token).count("users.info") == 1
    again = client_a.command("abcd-122345", channel="CALLOWED", response_url=slack.new_hook()).json()
    assert again["blocks"][0]["type"] == "header"  # A's answer is still A's own (cached)


def test_a_failing_rotation_is_tried_once_and_the_current_token_keeps_serving(
    start_distribution_bot, slack, bik
):
    server, _ = start_distribution_bot()
    url = server.bot.settings.database_url
    a = install_workspace(slack, server.url, "T0A", "Alpha", rotation=True)
    seed(url, "T0A", token=BIK_A, policy=ALLOW_ALL)
    execute(url, "UPDATE slack_bots SET bot_token_expires_at = CURRENT_TIMESTAMP")  # due for rotation
    slack.fail("oauth.v2.access", "500")  # Slack's token endpoint is down
    client = SlackClient(server.url, team="T0A")
    for user in ("U1", "U2", "U3"):
        reply = client.command("abcd-122345", user=user, response_url=slack.new_hook()).json()
        assert reply["blocks"][0]["type"] == "header"
    refreshes = [p for p in slack.method_calls("oauth.v2.access") if p.get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1  # not once per request: the next attempt waits a minute
    assert slack.calls_with(a.token).count("users.info") == 3  # the current token served every lookup


def test_doctor_counts_installed_workspaces_and_says_when_a_key_is_missing(
    start_distribution_bot, slack, monkeypatch, capsys
):
    from bot.credentials import CredentialBox
    from bot.doctor import run_doctor
    from tests.integration.conftest import CLIENT_ID, CLIENT_SECRET

    server, _ = start_distribution_bot()
    url = server.bot.settings.database_url
    install_workspace(slack, server.url, "T0A", "Alpha")
    seed(url, "T0A", token=BIK_A)
    seed(url, "T0ZNOTYET", token=BIK_B)  # connected from the CLI before any install: not counted
    env = {
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_SIGNING_SECRET": "signing",
        "BIK_CREDENTIALS_KEYS": CREDENTIALS_KEY,
        "DATABASE_URL": url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert asyncio.run(run_doctor()) == 0
    out = capsys.readouterr().out
    assert "1 installed, 1 of them with BIK connected" in out and "schema 0002" in out
    monkeypatch.setenv("BIK_CREDENTIALS_KEYS", CredentialBox.new_key())  # the old key dropped too soon
    assert asyncio.run(run_doctor()) == 1
    assert "no key in BIK_CREDENTIALS_KEYS opens" in capsys.readouterr().out
