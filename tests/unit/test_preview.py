"""``python -m bot preview``'s rendering: nothing in a reply can drive the terminal, and the policy's
masking is what the preview shows."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

from bot.access import Policy
from bot.preview import BOLD, RESET, builder_link, json_text, render_terminal, strictest_mask, terminal_safe

SGR = "\x1b[31m"
OSC_TITLE = "\x1b]0;title\x07"
HOSTILE = f"a{SGR}b{OSC_TITLE}c\u202ed\u2066e\x9b2Jf\rg\th\x85i\u2028j\x7fk\ud800l"
LEGIT = "محمد हिन्दी 東京 👩\u200d💻 Zoë"
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def hostile_message(value: str) -> dict[str, object]:
    mrkdwn = {"type": "mrkdwn", "text": f"*Label*\n{value}"}
    return {
        "response_type": "ephemeral",
        "text": f"BIK customer: {value}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": value}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Address*\n{value}\n{value}"}},
            {"type": "section", "fields": [mrkdwn, mrkdwn]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"*Tags:* {value}"}]},
            {"type": "actions", "elements": [{"type": "button", "text": {"text": value}}]},
        ],
    }


def test_no_control_or_bidi_character_of_a_reply_reaches_the_terminal():
    out = render_terminal(hostile_message(HOSTILE))
    assert UNSAFE.search(out) is None
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    # shown, visibly, where they were: the operator sees that the data holds them
    assert r"a\x1b[31mb\x1b]0;title\x07c\u202ed\u2066e\x9b2Jf\x0dg\x09h\x85i\u2028j\x7fk\ud800l" in out
    out.encode("utf-8")  # printable: no lone surrogate left


def test_the_only_escape_sequences_are_the_renderers_own_bold():
    out = render_terminal(hostile_message(HOSTILE), bold=True)
    assert out.count(BOLD) == 1 and out.count(RESET) == 1
    assert "\x1b" not in out.replace(BOLD, "").replace(RESET, "")


def test_the_renderers_line_breaks_stay_and_nothing_else_breaks_a_line():
    out = render_terminal(hostile_message("one\u2028two\x0bthree\x1cfour"))
    lines = out.splitlines()  # splitlines would break on those: each must be an escape now
    assert out.count("\n") == len(lines)
    assert sum(r"one\u2028two\x0bthree\x1cfour" in line for line in lines) == 8  # each place it was
    assert lines[2] == r"one\u2028two\x0bthree\x1cfour"  # the header, alone on its line
    assert "  Label:       one" in out


def test_other_scripts_and_emoji_sequences_are_printed_as_they_are():
    out = render_terminal(hostile_message(LEGIT))
    assert out.count(LEGIT) == 8
    assert terminal_safe(LEGIT) == LEGIT


def test_masked_values_keep_their_stars_and_bold_markers_go():
    field = {"type": "mrkdwn", "text": "*Phone*\n+91******9090"}
    message = {"blocks": [{"type": "section", "fields": [field]}]}
    out = render_terminal(message)
    assert "  Phone:       +91******9090" in out


def test_json_is_the_same_message_and_terminal_safe():
    message = hostile_message(HOSTILE + LEGIT)
    text = json_text(message)
    assert UNSAFE.search(text) is None
    assert LEGIT in text  # readable, not \u-escaped
    assert json.loads(text) == message


def test_the_builder_link_is_plain_ascii_and_the_exact_blocks():
    message = hostile_message(HOSTILE + LEGIT)
    link = builder_link(message)
    assert link.isascii() and link.isprintable()
    assert json.loads(unquote(link.split("#", 1)[1])) == {"blocks": message["blocks"]}


def test_a_preview_for_no_channel_masks_every_field_some_rule_masks():
    policy = Policy.from_mapping(
        {
            "defaults": {"allow": False},
            "direct_messages": {"mask": ["address"]},
            "channels": {"C0SUPPORT1": {"allow": True}, "C0MERCHANT": {"allow": True, "mask": ["phone"]}},
        },
        path=Path("access.toml"),
    )
    assert strictest_mask(policy) == {"phone", "address"}
    assert strictest_mask(Policy.from_mapping({}, path=Path("access.toml"))) == frozenset()
    assert strictest_mask(Policy.deny_all(Path("missing.toml"))) == frozenset()
