"""Every payload shape in the corpus (tests/payloads), replayed through the real app as Slack sends it:
signed over HTTP, and as envelopes over Socket Mode. Slack's expectations are the assertions: an HTTP
200 (a 4xx/5xx is an error for the user, and Events API deliveries get retried then disabled), an ack
for every envelope, the card in a command's ack, the card on the response_url of a Share click, the
challenge echoed back. A new file in tests/payloads is covered here without further code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from aiohttp import web

from bot import cards
from tests import payloads
from tests.fakes.bik import FakeBik
from tests.fakes.botserver import TEAM, SlackClient, wait_for
from tests.fakes.process import BotProcess, stand_in_env
from tests.fakes.slack import FakeSlack

# Every channel, DM and group DM of the corpus may look customers up: the replay is about payload
# shapes, not policy (policy has its own tests).
POLICY = """
[defaults]
allow = true

[direct_messages]
allow = true
"""
TEXT = "abcd-122345"  # a customer the BIK stand-in knows ...
VALUE = "partner:" + TEXT  # ... as a button's value
NAME = "Test Last"  # ... and the header of its card


def prepared(kind: str, slack: FakeSlack) -> tuple[dict[str, Any], str | None]:
    """The request of ``kind`` as stored, except: it comes from the workspace the bot is installed in
    (the Slack stand-in's ``auth.test`` says TEAM; a Slack Connect clicker's own workspace stays
    foreign), a command looks up the known customer, and a click is a click on Share; both report to
    a fresh response_url hook wherever the shape has a response_url. Returns the body and that hook
    (None where the shape has no response_url)."""
    envelope = payloads.envelope_type(kind)
    if envelope == "slash_commands":
        if "command" not in payloads.load(kind):  # ssl_check
            return payloads.command_form(kind), None
        hook = slack.new_hook()
        return payloads.command_form(kind, team_id=TEAM, text=TEXT, response_url=hook), hook
    if envelope == "interactive":
        hook = slack.new_hook()
        body = payloads.interaction(
            kind, team=TEAM, action_id=cards.ACTION_SHARE, value=VALUE, response_url=hook
        )
        return body, hook if body.get("response_url") == hook else None
    return payloads.load(kind), None


def is_share_click(body: dict[str, Any]) -> bool:
    return body.get("type") == "block_actions"


def header(message: dict[str, Any]) -> str | None:
    blocks = message.get("blocks") or [{}]
    return (blocks[0].get("text") or {}).get("text")


def check_answer(
    kind: str,
    body: dict[str, Any],
    ack: dict[str, Any] | None,
    hook: str | None,
    slack: FakeSlack,
    bik: FakeBik,
) -> None:
    """What Slack shows the user, beyond the 200/ack: the same over HTTP and Socket Mode."""
    if "command" in body:
        assert ack is not None and header(ack) == NAME, f"{kind}: the ack is not the card: {ack}"
    elif body.get("type") == "url_verification":
        assert ack is not None and ack.get("challenge") == body["challenge"], f"{kind}: challenge {ack}"
    elif is_share_click(body) and hook is not None:
        posted = wait_for(lambda: slack.posts(hook))
        assert len(posted) == 1, f"{kind}: {len(posted)} posts to the response_url"
        if from_another_organisation(body):
            # Slack Connect: only the installing organisation may look customers up (FACTS.md);
            # the clicker alone is told so, nothing is fetched or shared.
            assert posted[0]["response_type"] == "ephemeral" and header(posted[0]) != NAME, (
                f"{kind}: {posted}"
            )
            assert bik.count() == 0, f"{kind}: BIK was asked for a refused click"
        else:
            assert posted[0]["response_type"] == "in_channel" and header(posted[0]) == NAME, (
                f"{kind}: {posted}"
            )


def from_another_organisation(body: dict[str, Any]) -> bool:
    """A clicker whose own workspace is not the installing one (the corpus' Slack Connect shape)."""
    user = body.get("user") or {}
    return user.get("team_id") not in (None, TEAM)


def json_or_none(text: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


# -- the corpus itself ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", payloads.KINDS)
def test_every_kind_names_its_source_and_loads_without_it(kind):
    assert len(payloads.source(kind)) > 40
    first, second = payloads.load(kind), payloads.load(kind)
    assert "_source" not in first and first == second and first is not second
    first.clear()
    assert payloads.load(kind) == second  # a test's edits never leak into the next


def test_the_quirks_that_broke_the_last_release_stay_in_the_corpus():
    """The corpus must not be 'cleaned up' into the shapes our code expected (FACTS.md)."""
    ephemeral = payloads.load("block_actions_ephemeral")
    assert ephemeral["enterprise"] is None and ephemeral["is_enterprise_install"] is False
    assert "message" not in ephemeral and ephemeral["container"]["is_ephemeral"] is True
    assert payloads.load("block_actions_in_channel")["message"]["blocks"]
    for kind in ("block_actions_modal", "block_actions_home", "shortcut_global"):
        shape = payloads.load(kind)
        assert "channel" not in shape and "response_url" not in shape, kind
    assert payloads.load("block_actions_home")["view"]["close"] is None
    org_wide = payloads.load("block_actions_org_wide")
    assert org_wide["team"] is None and org_wide["is_enterprise_install"] is True
    connect = payloads.load("block_actions_slack_connect")
    assert connect["user"]["team_id"] != connect["team"]["id"]
    for kind in ("shortcut_global", "shortcut_message"):
        assert "api_app_id" not in payloads.load(kind), kind
    assert payloads.load("view_closed")["view"]["previous_view_id"] is None
    assert payloads.load("event_callback_app_home_opened")["authorizations"][0]["team_id"] is None
    assert payloads.command_form("command_plain")["is_enterprise_install"] == "false"


def test_interaction_replaces_only_what_the_shape_has():
    modal = payloads.interaction(
        "block_actions_modal", channel="CALLOWED", user="U1", team="T1", response_url="https://x/y"
    )
    assert "channel" not in modal and "response_url" not in modal
    assert modal["user"]["id"] == "U1" and modal["view"]["app_installed_team_id"] == "T1"
    org_wide = payloads.interaction("block_actions_org_wide", team="T1", channel="CALLOWED")
    assert org_wide["team"] is None and org_wide["user"]["team_id"] == "T1"
    assert org_wide["channel"]["id"] == org_wide["container"]["channel_id"] == "CALLOWED"
    connect = payloads.interaction("block_actions_slack_connect", team="T1")
    assert connect["team"]["id"] == "T1" and connect["user"]["team_id"] != "T1"
    shortcut = payloads.interaction("shortcut_global", api_app_id="A1", response_url="https://x/y")
    assert "api_app_id" not in shortcut and "response_url" not in shortcut
    with pytest.raises(ValueError):
        payloads.interaction("command_plain")
    with pytest.raises(KeyError):
        payloads.load("no_such_kind")


# -- HTTP -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", payloads.KINDS)
def test_every_kind_is_answered_over_http(kind, start_bot, bik, slack, logs):
    _, client = start_bot(POLICY)
    body, hook = prepared(kind, slack)
    envelope = payloads.envelope_type(kind)
    if envelope == "slash_commands":
        response = client.post(urlencode(body))
    elif envelope == "interactive":
        response = client.interaction(body)
    else:
        response = client.event(body)
    assert response.status_code == 200, f"{kind}: HTTP {response.status_code} {response.text[:200]!r}"
    check_answer(kind, body, json_or_none(response.text), hook, slack, bik)
    if is_share_click(body) and hook is None:
        # A Share click where the shape has no channel and no response_url (a modal, the Home tab):
        # refused in the audit log, nothing fetched, nothing crashed.
        wait_for(lambda: [e for e in logs.events("lookup") if e.get("surface") == "share"])
        assert bik.count() == 0
    for failure in ("listener_error", "background_task_failed"):
        assert logs.events(failure) == [], f"{kind}: {logs.events(failure)}"


def test_the_test_client_sends_corpus_shapes_by_default(start_bot, slack):
    """``SlackClient.command``/``action`` build on command_plain / block_actions_ephemeral: what
    every other test sends carries ``"enterprise": null`` and the rest."""
    server, _ = start_bot(POLICY)
    seen: list[bytes] = []

    class Recording(SlackClient):
        def post(self, body: str, **kw: Any) -> Any:
            seen.append(body.encode())
            return super().post(body, **kw)

    recording = Recording(server.url)
    assert recording.command(TEXT, response_url=slack.new_hook()).status_code == 200
    hook = slack.new_hook()
    assert recording.action(cards.ACTION_SHARE, VALUE, response_url=hook).status_code == 200
    wait_for(lambda: slack.posts(hook))
    form = {k: v[0] for k, v in parse_qs(seen[0].decode()).items()}
    assert form["is_enterprise_install"] == "false" and form["team_id"] == "T1" and form["api_app_id"] == "A1"
    click = json.loads(parse_qs(seen[1].decode())["payload"][0])
    assert click["enterprise"] is None and click["is_enterprise_install"] is False
    assert click["team"]["id"] == click["user"]["team_id"] == "T1" and click["user"]["id"] == "U1"
    assert click["channel"]["id"] == click["container"]["channel_id"] == "CALLOWED"
    assert "message" not in click and click["container"]["is_ephemeral"] is True


# -- Socket Mode ------------------------------------------------------------------------------------

_SOCKET: dict[str, Any] = {}


@pytest.fixture(scope="module")
def socket_bot(
    bik: FakeBik, slack: FakeSlack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    """One real bot process in Socket Mode for the module (a process per kind would cost seconds each)."""
    workdir = tmp_path_factory.mktemp("socket-corpus")
    slack.reset()
    process = BotProcess(
        stand_in_env(bik, slack, workdir, policy=POLICY, SLACK_APP_TOKEN="xapp-1-test-token-0000"),
        cwd=workdir,
    )
    try:
        process.launch()
        _SOCKET["ws"] = wait_for(lambda: slack.sockets, timeout=20)[-1]
        yield process
    finally:
        _SOCKET.clear()
        process.kill()


@pytest.fixture
def socket_mode(socket_bot: BotProcess, slack: FakeSlack, _fresh_fakes: None) -> Iterator[BotProcess]:
    """The module's bot, its connection registered again after the per-test reset of the Slack
    stand-in (which forgets sockets); a reconnection during a test is remembered for the next one."""
    ws: web.WebSocketResponse = _SOCKET["ws"]
    if not slack.sockets and not ws.closed:
        slack.sockets.append(ws)
    yield socket_bot
    if slack.sockets:
        _SOCKET["ws"] = slack.sockets[-1]


@pytest.mark.parametrize("kind", payloads.SOCKET_MODE_KINDS)
def test_every_kind_is_acknowledged_over_socket_mode(kind, socket_mode, bik, slack):
    assert socket_mode.proc is not None and socket_mode.proc.poll() is None, socket_mode.logs()[-2000:]
    wait_for(lambda: slack.sockets, timeout=20)
    body, hook = prepared(kind, slack)
    envelope_id = slack.send_envelope(payloads.envelope_type(kind), body)
    try:
        ack = wait_for(lambda: slack.ack_for(envelope_id), timeout=5)
    except AssertionError:
        tail = "\n".join(socket_mode.logs().splitlines()[-5:])
        pytest.fail(
            f"{kind}: no ack for the {payloads.envelope_type(kind)} envelope within 5 s; bot log:\n{tail}"
        )
    check_answer(kind, body, ack.get("payload"), hook, slack, bik)
