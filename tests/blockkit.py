"""Checks a message against Slack's Block Kit limits (slack/FACTS.md) and our safety rules."""

from __future__ import annotations

import re
from typing import Any

OUR_MARKUP = re.compile(
    r"<!date\^\d+\^[^|<>]*\|[^<>]*>|<https://maps\.google\.com/\?q=[-0-9.,]+\|Map>|<@U[A-Z0-9]+>"
)
# A placeholder shown as a whole value ("Email: None"); the same word inside real data is fine.
FORBIDDEN_WORDS = re.compile(r"(?:^|\n|\*)\s*(None|null|undefined)\s*(?:$|\n)")


def texts(message: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (type, text) of the message's text objects, plus the fallback."""
    out: list[tuple[str, str]] = [("fallback", message.get("text", ""))]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                out.append((node["type"], node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("blocks", []))
    return out


def check_limits(message: dict[str, Any], *, max_blocks: int = 50) -> None:
    blocks = message["blocks"]
    assert 1 <= len(blocks) <= max_blocks, len(blocks)
    assert message["text"].strip(), "empty fallback text"
    assert len(message["text"]) <= 4000
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            assert block["text"]["type"] == "plain_text"
            assert 1 <= len(block["text"]["text"]) <= 150
        if kind == "section":
            if "text" in block:
                assert 1 <= len(block["text"]["text"]) <= 3000
            fields = block.get("fields", [])
            assert len(fields) <= 10
            for f in fields:
                assert 1 <= len(f["text"]) <= 2000
            assert "text" in block or fields
        if kind == "context":
            assert 1 <= len(block["elements"]) <= 10
        if kind == "actions":
            assert 1 <= len(block["elements"]) <= 25
            for e in block["elements"]:
                assert len(e["text"]["text"]) <= 75
                assert len(e.get("value", "")) <= 2000
                assert len(e["action_id"]) <= 255
                assert len(e.get("url", "")) <= 3000


def check_safe(message: dict[str, Any]) -> None:
    """No unescaped BIK markup can reach mrkdwn: the only <...> are sequences we write ourselves."""
    for kind, text in texts(message):
        if kind == "plain_text":
            continue
        stripped = OUR_MARKUP.sub("", text)
        assert "<" not in stripped and ">" not in stripped, text
        assert not re.search(r"&(?!amp;|lt;|gt;)", stripped), text
    for node_kind, text in texts(message):
        if node_kind != "fallback":
            assert not FORBIDDEN_WORDS.search(text), text
