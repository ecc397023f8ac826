"""The boundary before Bolt: signatures, body parsing, payload shapes (bot/intake.py)."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier

from bot.intake import QuietLog, Refusal, checked, parse_body, payload_problem, verify_signature
from tests.payloads import KINDS, command_form, load

SECRET = "s3cret"


@pytest.mark.parametrize(
    "body",
    [
        {"command": "/bik-customer", "text": "x", "channel_id": "C1"},
        {"type": "block_actions", "team": {"id": "T"}, "user": {"id": "U"}, "actions": [{"action_id": "a"}]},
        {
            "type": "block_actions",
            "enterprise": None,
            "team": None,
            "user": {"id": "W1", "team_id": "T2"},
            "actions": [{"action_id": "a"}],
        },
        {"type": "block_actions", "view": None, "actions": [{"action_id": "a"}]},
        {"type": "view_submission", "view": {"type": "modal", "id": "V", "previous_view_id": None}},
        {"type": "view_closed", "team": None, "view": {"type": "modal", "close": None, "submit": None}},
        {"type": "shortcut", "callback_id": "x", "team": {"id": "T"}},
        {"type": "event_callback", "authorizations": [{"team_id": None, "enterprise_id": "E1"}]},
    ],
)
def test_what_slack_sends_passes(body):
    assert payload_problem(body) is None


@pytest.mark.parametrize("kind", KINDS)
def test_every_payload_in_the_corpus_passes(kind):
    assert payload_problem(load(kind)) is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([1, 2], "body is not an object"),
        ({"type": 3}, "type is not a string"),
        ({"type": "block_actions", "channel": ["C1"]}, "channel is not an object"),
        ({"type": "block_actions", "enterprise": 7}, "enterprise is not an object"),
        ({"type": "block_actions", "container": "x"}, "container is not an object"),
        ({"type": "block_actions", "actions": {"a": 1}}, "actions is not a list of objects"),
        ({"type": "block_actions", "actions": [None]}, "actions is not a list of objects"),
        ({"type": "event_callback", "authorizations": [None]}, "authorizations is not a list of objects"),
        ({"type": "view_submission", "view": {"id": "V"}}, "view has no type"),
        ({"type": "view_closed", "view": None}, "view has no type"),
        (
            {"type": "view_submission", "view": {"type": "modal", "callback_id": 3}},
            "view callback_id is not a string",
        ),
        ({"type": "block_actions", "actions": [{"action_id": 7}]}, "action_id is not a string"),
        ({"type": "block_actions", "actions": []}, "block_actions without an action_id"),
        ({"type": "block_actions", "actions": None}, "block_actions without an action_id"),
        ({"type": "block_actions"}, "block_actions without an action_id"),
        ({"type": "block_actions", "actions": [{"value": "x"}]}, "block_actions without an action_id"),
        ({"type": "shortcut", "callback_id": ["x"]}, "callback_id is not a string"),
        ({"command": {"x": 1}}, "command is not a string"),
        ({"type": "event_callback", "event": {"type": 5}}, "event type is not a string"),
        (
            {"type": "view_submission", "view": {"type": "modal"}, "response_urls": 3},
            "response_urls is not a list of objects",
        ),
        (
            {"type": "view_submission", "view": {"type": "modal", "response_urls": {"a": 1}}},
            "response_urls is not a list of objects",
        ),
    ],
)
def test_shapes_bolt_would_crash_on_are_named(body, problem):
    assert payload_problem(body) == problem


def test_a_null_view_on_a_click_is_dropped_so_bolt_never_indexes_it():
    assert "view" not in checked({"type": "block_actions", "view": None, "actions": [{"action_id": "a"}]})


def test_a_slash_command_mentioning_payload_is_a_command_not_an_interaction():
    form = command_form(text="payload-7", channel_name="payload-team")
    body = parse_body(urlencode(form).encode(), "application/x-www-form-urlencoded")
    assert body["text"] == "payload-7" and body["channel_name"] == "payload-team"


def test_an_interaction_is_read_from_the_payload_field():
    payload = load("block_actions_ephemeral")
    body = parse_body(
        urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
    )
    assert body["type"] == "block_actions" and body.get("enterprise") is None


def test_an_events_api_body_is_json():
    body = parse_body(
        json.dumps(load("event_callback_link_shared")).encode(), "application/json; charset=utf-8"
    )
    assert body["type"] == "event_callback"


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe", b"payload=not-json", b"payload=" + b"[" * 100_000, b"[1,2]", b"{" * 100_000],
)
def test_unreadable_bodies_are_refused_with_400(raw):
    with pytest.raises(Refusal) as caught:
        parse_body(
            raw, "application/x-www-form-urlencoded" if raw.startswith(b"payload") else "application/json"
        )
    assert caught.value.status == 400


def _signed(body: bytes, ts: str) -> str:
    return SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body.decode())


def test_a_valid_signature_passes():
    ts = str(int(time.time()))
    verify_signature(SECRET, b"a=1", ts, _signed(b"a=1", ts))


@pytest.mark.parametrize(
    ("timestamp", "signature", "reason"),
    [
        (None, "v0=00", "bad timestamp"),
        ("abc", "v0=00", "bad timestamp"),
        ("１２３", "v0=00", "bad timestamp"),  # full-width digits are digits to str.isdigit
        ("9" * 40, "v0=00", "bad timestamp"),
        ("1000", "v0=00", "stale timestamp"),
        ("NOW", None, "no signature"),
        ("NOW", "v0=ünicode", "no signature"),
        ("NOW", "v0=" + "0" * 64, "bad signature"),
    ],
)
def test_bad_signatures_are_refused_with_401_and_a_reason(timestamp, signature, reason):
    ts = str(int(time.time())) if timestamp == "NOW" else timestamp
    with pytest.raises(Refusal) as caught:
        verify_signature(SECRET, b"a=1", ts, signature)
    assert (caught.value.status, caught.value.reason) == (401, reason)


@given(st.binary(max_size=200), st.text(max_size=20), st.text(max_size=80))
def test_signature_checking_never_raises_anything_but_a_refusal(body, timestamp, signature):
    try:
        verify_signature(SECRET, body, timestamp, signature)
    except Refusal as refusal:
        assert refusal.status == 401


@given(
    st.binary(max_size=300), st.sampled_from([None, "application/json", "application/x-www-form-urlencoded"])
)
def test_parsing_never_raises_anything_but_a_refusal(body, content_type):
    try:
        assert isinstance(parse_body(body, content_type), dict)
    except Refusal as refusal:
        assert refusal.status == 400


def test_a_flood_of_one_event_is_logged_once_per_period(monkeypatch):
    lines: list[tuple[str, dict[str, object]]] = []

    class Recorder:
        def warning(self, event: str, **fields: object) -> None:
            lines.append((event, fields))

    monkeypatch.setattr("bot.intake.log", Recorder())
    quiet = QuietLog("bad_signature", every=60)
    for _ in range(1000):
        quiet.warning(reason="bad signature")
    assert lines == [("bad_signature", {"suppressed": 0, "reason": "bad signature"})]
