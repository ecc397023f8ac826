from __future__ import annotations

import pytest

from bot.app import payload_problem


@pytest.mark.parametrize(
    "body",
    [
        {"command": "/bik-customer", "text": "x", "channel_id": "C1"},
        {"type": "block_actions", "team": {"id": "T"}, "user": {"id": "U"}, "actions": [{"action_id": "a"}]},
        {"type": "view_submission", "view": {"type": "modal", "id": "V"}},
        {"type": "shortcut"},
    ],
)
def test_what_slack_sends_passes(body):
    assert payload_problem(body) is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([1, 2], "body is not an object"),
        ({"type": 3}, "type is not a string"),
        ({"type": "block_actions", "view": None}, "view is not an object"),
        ({"type": "block_actions", "channel": "C1"}, "channel is not an object"),
        ({"type": "block_actions", "actions": {"a": 1}}, "actions is not a list of objects"),
        ({"type": "block_actions", "actions": [None]}, "actions is not a list of objects"),
        ({"type": "view_submission", "view": {"id": "V"}}, "view has no type"),
    ],
)
def test_shapes_bolt_would_crash_on_are_named(body, problem):
    assert payload_problem(body) == problem
