"""Bad input through the real server: a corpus of nasty strings and hypothesis-generated command
texts and interaction payloads. Always a clear ephemeral answer or a lookup; never a 500; never an
unhandled exception in the bot's log."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.test_faults import bot_exceptions

NASTY = [
    "раураl-12",  # Cyrillic look-alikes
    "аbcd-122345",  # a Cyrillic 'а' in front of the documented id
    "abc\u200b123",  # zero-width space
    "\u202eabc",  # right-to-left override
    "\u200fabc\u200e",  # RTL / LTR marks
    "abc\u0000def",  # NUL
    "x" * 10_240,  # 10 KB
    "&lt;@U1&gt;",  # an escaped mention: data, not markup
    "<@U1>",
    "<!channel>",
    "<!subteam^S123|team>",
    "&amp;lt;script&amp;gt;",
    "bik:١٢٣",
    "bik:99999999999999999999999",
    "partner:" + "é" * 128,
    "🧪🔥 bik:1",
    "' OR 1=1 --",
    "${jndi:ldap://x}",
    "{{7*7}}",
    "\\x00\\n",
    "a\tb\nc",
    " ".join(["q"] * 500),
]


@pytest.fixture
def fuzz_bot(start_bot):
    return start_bot("[channels.CALLOWED]\nallow = true\n")


def answered(response) -> dict:
    assert response.status_code == 200, response.status_code
    message = response.json()
    assert message["text"].strip()
    assert message["blocks"]
    return message


def test_nasty_strings_get_a_clear_answer(fuzz_bot, slack, logs):
    _, client = fuzz_bot
    for text in NASTY:
        message = answered(client.command(text, response_url=slack.new_hook()))
        assert message["response_type"] == "ephemeral"
        assert "<!channel>" not in json.dumps(message["blocks"])  # never echoed as a live mention
    assert not bot_exceptions(logs)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_any_command_text_is_answered(fuzz_bot, slack, text):
    _, client = fuzz_bot
    answered(client.command(text, response_url=slack.new_hook()))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(
        ["block_actions", "view_submission", "view_closed", "shortcut", "message_action", "x"]
    ),
    action_id=st.sampled_from(["share_in_channel", "show_all_addresses", "open_in_bik", "other"])
    | st.text(max_size=20),
    value=json_values,
    extra=st.dictionaries(
        st.sampled_from(["channel", "user", "team", "view", "actions", "container"]), json_values
    ),
)
def test_any_interaction_payload_is_answered_sanely(fuzz_bot, bik, slack, kind, action_id, value, extra):
    _, client = fuzz_bot
    payload = {
        "type": kind,
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "channel": {"id": "CALLOWED"},
        "response_url": slack.new_hook(),
        "trigger_id": "1.2.3",
        "actions": [{"action_id": action_id, "value": value}],
        **extra,
    }
    response = client.post(urlencode({"payload": json.dumps(payload)}))
    assert response.status_code in (200, 400, 404), response.status_code


def test_unsigned_garbage_is_401_not_400(fuzz_bot):
    _, client = fuzz_bot
    assert client.post("payload=not-json", secret="wrong-secret").status_code == 401
