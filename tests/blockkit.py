"""Checks a message against Slack's Block Kit limits (slack/FACTS.md) and our safety rules, and asks
slack_sdk's own Block Kit models for a second opinion (:func:`sdk_problems`).

slack_sdk's ``validate_json()`` checks one object's own upper limits (section text <= 3000, fields <= 10,
header text <= 150, actions <= 25 and context <= 10 elements, block_id <= 255, view title/close/submit
<= 24, 1..100 view blocks, the view type). It does not look inside nested objects, so each block is also
turned back into JSON with ``to_dict()``, which validates every nested object (button text, value, url,
action_id), and the result is compared with what we sent: slack_sdk quietly skips what it cannot read
(an unknown element type, an unknown field, an empty text, a string where a text object belongs), and
any difference names it. It checks nothing about a message's top-level ``text``, its number of blocks,
field lengths or empty element lists: our own checks do.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

OUR_MARKUP = re.compile(
    r"<!date\^\d+\^[^|<>]*\|[^<>]*>|<https://maps\.google\.com/\?q=[-0-9.,]+\|Map>|<@[UW][A-Z0-9]+>"
    # bot.views.channel_ref: a channel mention, only from an id that looks like one.
    r"|<#[CG][A-Z0-9]+>"
    # bot.cards.email_text: an unmasked email linked to itself, only of characters safe in a link.
    r"|<mailto:(?P<mail>[A-Za-z0-9._+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)\|(?P=mail)>"
)
# A placeholder shown as a whole value ("Email: None"); the same word inside real data is fine.
FORBIDDEN_WORDS = re.compile(r"(?:^|\n|\*)\s*(None|null|undefined)\s*(?:$|\n)")

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100  # modal and App Home
VIEW_TYPES = ("modal", "home")

# slack_sdk's models log the whole block they could not read (customer data, in these tests): the
# problems list below says the same thing, so their log lines stay out of the captured logs.
_sdk_log = logging.getLogger("slack_sdk.models")
_sdk_log.addHandler(logging.NullHandler())
_sdk_log.propagate = False


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


# -- our own checks (raise AssertionError) ---------------------------------------------------------


def check_limits(message: dict[str, Any], *, max_blocks: int = MESSAGE_BLOCKS) -> None:
    blocks = message["blocks"]
    assert 1 <= len(blocks) <= max_blocks, f"{len(blocks)} blocks (1..{max_blocks})"
    assert message["text"].strip(), "empty fallback text"
    assert len(message["text"]) <= 4000, f"fallback text of {len(message['text'])} characters (<= 4000)"
    check_blocks(blocks)


def check_blocks(blocks: list[dict[str, Any]]) -> None:
    """Slack's per-block limits, for blocks of a message, an attachment or a view."""
    for index, block in enumerate(blocks):
        kind = block["type"]
        at = f"block {index} ({kind})"
        if kind == "header":
            assert block["text"]["type"] == "plain_text", f"{at}: header text must be plain_text"
            assert 1 <= len(block["text"]["text"]) <= 150, (
                f"{at}: header text of {len(block['text']['text'])}"
            )
        if kind == "section":
            if "text" in block:
                size = len(block["text"]["text"])
                assert 1 <= size <= 3000, f"{at}: text of {size} characters (1..3000)"
            fields = block.get("fields", [])
            assert len(fields) <= 10, f"{at}: {len(fields)} fields (<= 10)"
            for f in fields:
                assert 1 <= len(f["text"]) <= 2000, f"{at}: field of {len(f['text'])} characters (1..2000)"
            assert "text" in block or fields, f"{at}: neither text nor fields"
        if kind == "context":
            assert 1 <= len(block["elements"]) <= 10, f"{at}: {len(block['elements'])} elements (1..10)"
        if kind == "actions":
            assert 1 <= len(block["elements"]) <= 25, f"{at}: {len(block['elements'])} elements (1..25)"
            for e in block["elements"]:
                assert len(e["text"]["text"]) <= 75, f"{at}: button text of {len(e['text']['text'])} (<= 75)"
                assert len(e.get("value", "")) <= 2000, f"{at}: button value of {len(e['value'])} (<= 2000)"
                assert len(e["action_id"]) <= 255, f"{at}: action_id of {len(e['action_id'])} (<= 255)"
                assert len(e.get("url", "")) <= 3000, f"{at}: button url of {len(e['url'])} (<= 3000)"


def check_view_limits(view: dict[str, Any]) -> None:
    """A modal or App Home view: its type, title/close/submit, metadata and blocks."""
    assert view.get("type") in VIEW_TYPES, f"view type {view.get('type')!r} (one of {VIEW_TYPES})"
    if view["type"] == "modal":
        assert "title" in view, "a modal needs a title"
    else:
        assert "close" not in view and "submit" not in view, "a Home view has no close or submit"
    for key in ("title", "close", "submit"):
        if key in view:
            assert view[key]["type"] == "plain_text", f"view {key} must be plain_text"
            assert 1 <= len(view[key]["text"]) <= 24, f"view {key} of {len(view[key]['text'])} (1..24)"
    assert len(view.get("private_metadata", "")) <= 3000, "private_metadata over 3000 characters"
    assert len(view.get("callback_id", "")) <= 255, "callback_id over 255 characters"
    blocks = view["blocks"]
    assert 1 <= len(blocks) <= VIEW_BLOCKS, f"{len(blocks)} blocks (1..{VIEW_BLOCKS})"
    check_blocks(blocks)


def check_safe(message: dict[str, Any]) -> None:
    """No unescaped BIK markup can reach mrkdwn: the only <...> are sequences we write ourselves."""
    for kind, text in texts(message):
        if kind == "plain_text":
            continue
        stripped = OUR_MARKUP.sub("", text)
        assert "<" not in stripped and ">" not in stripped, f"unescaped < or > in {kind} text: {text!r}"
        assert not re.search(r"&(?!amp;|lt;|gt;)", stripped), f"unescaped & in {kind} text: {text!r}"
    for node_kind, text in texts(message):
        if node_kind != "fallback":
            assert not FORBIDDEN_WORDS.search(text), f"a placeholder word shown as a value: {text!r}"


# -- slack_sdk's opinion (returns problems) --------------------------------------------------------


def sdk_problems(payload: dict[str, Any]) -> list[str]:
    """What slack_sdk's Block Kit models find wrong with a message (``blocks``, and ``attachments``'
    blocks) or a view (anything with a ``type`` other than "message"); ``[]`` when they find nothing."""
    if not isinstance(payload, dict):
        return [f"not a JSON object: {_short(payload)}"]
    if payload.get("type", "message") != "message":
        return sdk_view_problems(payload)
    out: list[str] = []
    if "blocks" in payload:
        out += sdk_block_problems(payload["blocks"], "blocks")
    for index, attachment in enumerate(payload.get("attachments") or []):
        if isinstance(attachment, dict) and "blocks" in attachment:
            out += sdk_block_problems(attachment["blocks"], f"attachments[{index}].blocks")
    return out


def sdk_view_problems(view: dict[str, Any]) -> list[str]:
    """``View(**view).validate_json()``, every block as in :func:`sdk_block_problems`, and the view's
    own fields (title, close, submit, ...) read back by slack_sdk as we sent them."""
    try:
        model = View(**view)
    except Exception as error:
        return [f"view: slack_sdk cannot build it: {type(error).__name__}: {error}"]
    out = sdk_block_problems(view.get("blocks"), "blocks")
    try:
        model.validate_json()
        model.blocks = None  # judged one by one above; the rest is read back as we sent it
        rebuilt = model.to_dict()
    except SlackObjectFormationError as error:
        return [f"view: {error}", *out]
    except Exception as error:
        return [f"view: slack_sdk cannot read it: {type(error).__name__}: {error}", *out]
    sent = {key: value for key, value in view.items() if key != "blocks"}
    return [*(f"view{difference}" for difference in _differences(sent, rebuilt)), *out]


def sdk_block_problems(blocks: Any, where: str = "blocks") -> list[str]:
    """Each block through ``Block.parse`` and ``validate_json()``, then ``to_dict()`` (which validates the
    nested objects) compared with what was sent. A block slack_sdk cannot parse is a problem."""
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        return [f"{where}: not a list but {_short(blocks)}"]
    out: list[str] = []
    for index, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        at = f"{where}[{index}] ({kind})"
        if not isinstance(block, dict):
            out.append(f"{at}: not a JSON object: {_short(block)}")
            continue
        try:
            parsed = Block.parse(block)
        except Exception as error:
            out.append(f"{at}: slack_sdk cannot build it: {type(error).__name__}: {error}")
            continue
        if parsed is None or type(parsed) is Block or parsed.type != kind:
            out.append(f"{at}: slack_sdk does not know this block type")
            continue
        try:
            parsed.validate_json()
            rebuilt = parsed.to_dict()  # validates every nested element and text object too
        except SlackObjectFormationError as error:
            out.append(f"{at}: {error}")
            continue
        except Exception as error:
            out.append(f"{at}: slack_sdk cannot read it: {type(error).__name__}: {error}")
            continue
        out += [f"{at}{difference}" for difference in _differences(block, rebuilt)]
    return out


def _differences(sent: Any, modelled: Any, path: str = "") -> Iterator[str]:
    """Where slack_sdk's reading of a block differs from what we sent, as ``.path: what``."""
    if isinstance(sent, dict) and isinstance(modelled, dict):
        for key in sorted(sent.keys() | modelled.keys()):
            if key not in modelled:
                yield (
                    f"{path}.{key}: dropped by slack_sdk (a field it does not model, or an empty value):"
                    f" {_short(sent[key])}"
                )
            elif key not in sent:
                yield f"{path}.{key}: slack_sdk adds {_short(modelled[key])}"
            else:
                yield from _differences(sent[key], modelled[key], f"{path}.{key}")
    elif isinstance(sent, list) and isinstance(modelled, list) and len(sent) == len(modelled):
        for index, (one, other) in enumerate(zip(sent, modelled, strict=True)):
            yield from _differences(one, other, f"{path}[{index}]")
    elif modelled is None and sent is not None:
        yield f"{path}: slack_sdk could not read it: {_short(sent)}"
    elif sent != modelled or type(sent) is not type(modelled):
        yield f"{path}: sent {_short(sent)}, slack_sdk reads {_short(modelled)}"


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- both opinions ---------------------------------------------------------------------------------


def _ours(check: Callable[[], None]) -> list[str]:
    try:
        check()
    except AssertionError as error:
        return [f"our check: {error or 'failed'}"]
    except Exception as error:  # a malformed message breaks a check: that is a finding too
        return [f"our check could not read it: {type(error).__name__}: {error}"]
    return []


def message_problems(
    message: dict[str, Any], *, safe: bool = True, max_blocks: int = MESSAGE_BLOCKS
) -> list[str]:
    """Our limits (and, with ``safe``, our escaping rules) and slack_sdk's, for a message.

    A message without blocks needs a text or attachments (or must only delete the original)."""
    if not isinstance(message, dict):
        return [f"not a JSON object: {_short(message)}"]
    out: list[str] = []
    if "blocks" in message:
        out += _ours(lambda: check_limits(message, max_blocks=max_blocks))
    elif not message.get("delete_original") and not message.get("attachments"):
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            out.append(f"our check: a message with neither blocks nor text: {_short(message)}")
        elif len(text) > 4000:
            out.append(f"our check: text of {len(text)} characters (<= 4000)")
    for index, attachment in enumerate(message.get("attachments") or []):
        if isinstance(attachment, dict) and "blocks" in attachment:
            out += [f"attachments[{index}]: {p}" for p in _ours(lambda a=attachment: _check_blocks_of(a))]
    if safe:
        out += _ours(lambda: check_safe(message))
    return out + sdk_problems(message)


def attachment_problems(attachment: dict[str, Any], *, safe: bool = True) -> list[str]:
    """Our checks and slack_sdk's for an attachment's ``blocks`` (an unfurl: ``chat.unfurl``'s values).
    A legacy attachment without blocks has no Block Kit to check."""
    if not isinstance(attachment, dict):
        return [f"not an attachment object: {_short(attachment)}"]
    if "blocks" not in attachment:
        return []
    out = _ours(lambda: _check_blocks_of(attachment))
    if safe:
        out += _ours(lambda: check_safe({"blocks": attachment["blocks"]}))
    return out + sdk_block_problems(attachment["blocks"], "blocks")


def _check_blocks_of(attachment: dict[str, Any]) -> None:
    blocks = attachment["blocks"]
    assert 1 <= len(blocks) <= MESSAGE_BLOCKS, f"{len(blocks)} blocks (1..{MESSAGE_BLOCKS})"
    check_blocks(blocks)


def view_problems(view: dict[str, Any], *, safe: bool = True) -> list[str]:
    """Our limits (and, with ``safe``, our escaping rules) and slack_sdk's, for a modal or Home view."""
    if not isinstance(view, dict):
        return [f"not a JSON object: {_short(view)}"]
    out = _ours(lambda: check_view_limits(view))
    if safe:
        out += _ours(lambda: check_safe({"blocks": view.get("blocks", [])}))
    return out + sdk_view_problems(view)


def problems(payload: dict[str, Any], *, safe: bool = True) -> list[str]:
    """:func:`view_problems` for a view (a ``type`` other than "message"), else :func:`message_problems`."""
    if isinstance(payload, dict) and payload.get("type", "message") != "message":
        return view_problems(payload, safe=safe)
    return message_problems(payload, safe=safe)


def assert_valid_message(message: dict[str, Any], *, safe: bool = True) -> None:
    """Fail with every problem our checks and slack_sdk's find in a message or view (an ack, a post),
    including :func:`check_safe` (no live markup but ours: help and usage text escape ``<`` too)."""
    found = problems(message, safe=safe)
    assert not found, "Block Kit problems:\n" + "\n".join(found)
