"""Show a reply in the terminal: the real lookup pipeline, printed readably, plus a link that opens
the exact message in Slack's Block Kit Builder. Nothing is sent anywhere."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

BUILDER_URL = "https://app.slack.com/block-kit-builder/#"

_DATE = re.compile(r"<!date\^(\d+)\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_MENTION = re.compile(r"<@([A-Z0-9]+)>")


def builder_link(message: dict[str, Any]) -> str:
    payload = {"blocks": message.get("blocks", [])}
    return BUILDER_URL + quote(json.dumps(payload, separators=(",", ":")), safe="")


def _mrkdwn(text: str) -> str:
    text = _DATE.sub(
        lambda m: datetime.fromtimestamp(int(m.group(1)), UTC).strftime("%Y-%m-%d %H:%M UTC"), text
    )
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _MENTION.sub(lambda m: f"@{m.group(1)}", text)
    text = text.replace("*", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(obj: dict[str, Any]) -> str:
    value = str(obj.get("text", ""))
    return _mrkdwn(value) if obj.get("type") == "mrkdwn" else value


def render_terminal(message: dict[str, Any], *, bold: bool = False) -> str:
    """A readable rendering of a Block Kit message (an approximation of what Slack shows)."""
    b, r = ("\033[1m", "\033[0m") if bold else ("", "")
    out: list[str] = [
        f"[{message.get('response_type', 'ephemeral')}] fallback: {message.get('text', '')}",
        "",
    ]
    for block in message.get("blocks", []):
        kind = block.get("type")
        if kind == "header":
            out.append(f"{b}{_text(block['text'])}{r}")
            out.append("=" * min(60, len(_text(block["text"]))))
        elif kind == "section":
            if "text" in block:
                out.extend(_text(block["text"]).splitlines())
            for f in block.get("fields", []):
                label, _, value = _text(f).partition("\n")
                out.append(f"  {label + ':':<12} {value}")
            out.append("")
        elif kind == "context":
            out.append("  " + "  ".join(_text(e) for e in block.get("elements", [])))
        elif kind == "actions":
            buttons = [f"[ {e['text']['text']} ]" for e in block.get("elements", [])]
            out.append("  " + "  ".join(buttons))
        elif kind == "divider":
            out.append("-" * 60)
    return "\n".join(out).rstrip() + "\n"
