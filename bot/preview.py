"""Show a reply in the terminal: the real lookup pipeline, printed readably, plus a link that opens
the exact message in Slack's Block Kit Builder. Nothing is sent anywhere.

Two defences, because a reply carries text that BIK (or a pasted query) chose:

* the terminal: every character that could drive a terminal or reorder what it shows (C0 and C1
  controls, ESC among them, DEL, the bidi embeddings, overrides, isolates and marks, the line and
  paragraph separators, lone surrogates) is printed as a visible escape (``\\x1b``, ``\\u202e``).
  Only the renderer's own line breaks and bold remain; other scripts (Arabic, Hindi, CJK, emoji
  sequences) are printed as they are. The JSON form escapes the same characters JSON-style.
* masking: the message is masked by the policy before it is printed or put in the link (see
  :func:`strictest_mask`), so the link, which ends up in a browser's history, carries no field the
  policy masks.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bot.access import Policy

BUILDER_URL = "https://app.slack.com/block-kit-builder/#"
BOLD, RESET = "\033[1m", "\033[0m"

# What may never reach the terminal raw. (``\n`` too: text is split on it first, by the renderer.)
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """``text`` as one line that cannot drive a terminal: the unsafe characters as visible escapes."""
    return _UNSAFE.sub(_visible, text)


def json_text(message: dict[str, Any]) -> str:
    """The message as indented JSON, readable (non-Latin text as is) and terminal-safe: json.dumps
    escapes C0 controls itself; the rest of the unsafe characters become ``\\uXXXX`` escapes, which
    decode to the same JSON value. (Outside strings the output holds only ASCII punctuation.)"""
    text = json.dumps(message, indent=2, ensure_ascii=False)
    return _UNSAFE.sub(lambda m: "\n" if m.group() == "\n" else f"\\u{ord(m.group()):04x}", text)


def strictest_mask(policy: Policy) -> frozenset[str]:
    """Every field that some rule of ``policy`` masks: what a preview for no channel in particular
    masks. (A missing policy file masks nothing.)"""
    rules = [policy.defaults, policy.direct_messages, *policy.channels.values()]
    return frozenset().union(*(rule.mask for rule in rules))


_DATE = re.compile(r"<!date\^(\d+)\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_MENTION = re.compile(r"<@([A-Z0-9]+)>")
# mrkdwn bold: ``*`` opening at the start of a line or after a space, closing before a space, a
# punctuation mark or the end; neither next to a space on the inside.
_BOLD = re.compile(r"(?<![^\s(])\*([^\s*](?:[^*\n]*[^\s*])?)\*(?![^\s.,;:!?)])")


def builder_link(message: dict[str, Any]) -> str:
    payload = {"blocks": message.get("blocks", [])}
    return BUILDER_URL + quote(json.dumps(payload, separators=(",", ":")), safe="")


def _mrkdwn(text: str) -> str:
    text = _DATE.sub(
        lambda m: datetime.fromtimestamp(int(m.group(1)), UTC).strftime("%Y-%m-%d %H:%M UTC"), text
    )
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _MENTION.sub(lambda m: f"@{m.group(1)}", text)
    text = _BOLD.sub(r"\1", text)  # bold markers only: a masked "+91******9090" keeps its stars
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(obj: dict[str, Any]) -> str:
    value = str(obj.get("text", ""))
    return _mrkdwn(value) if obj.get("type") == "mrkdwn" else value


def render_terminal(message: dict[str, Any], *, bold: bool = False) -> str:
    """A readable rendering of a Block Kit message (an approximation of what Slack shows).

    Text is broken into lines on ``\\n`` only, and every line passes :func:`terminal_safe`: the only
    escape sequences in the result are the bold this adds to headers."""
    out: list[str] = []
    strong: set[int] = set()  # indices of the lines shown bold

    def add(text: str, *, emphasis: bool = False) -> None:
        for line in text.split("\n"):
            if emphasis:
                strong.add(len(out))
            out.append(line)

    add(f"[{message.get('response_type', 'ephemeral')}] fallback: {message.get('text', '')}")
    add("")
    for block in message.get("blocks", []):
        kind = block.get("type")
        if kind == "header":
            title = _text(block["text"])
            add(title, emphasis=True)
            add("=" * min(60, len(title)))
        elif kind == "section":
            if "text" in block:
                add(_text(block["text"]))
            for f in block.get("fields", []):
                label, _, value = _text(f).partition("\n")
                add(f"  {label + ':':<12} {value}")
            add("")
        elif kind == "context":
            add("  " + "  ".join(_text(e) for e in block.get("elements", [])))
        elif kind == "actions":
            buttons = [f"[ {e['text']['text']} ]" for e in block.get("elements", [])]
            add("  " + "  ".join(buttons))
        elif kind == "divider":
            add("-" * 60)
    lines = [terminal_safe(line) for line in out]
    if bold:
        lines = [f"{BOLD}{line}{RESET}" if i in strong else line for i, line in enumerate(lines)]
    return "\n".join(lines).rstrip() + "\n"
