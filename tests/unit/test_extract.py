from __future__ import annotations

import re
import time
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.extract import (
    MAX_BLOCK_DEPTH,
    MAX_FOUND,
    MAX_TEXT_CHARS,
    Found,
    bik_id_from_url,
    dashboard_link_pattern,
    find_ids,
)
from bot.query import MAX_ID_LENGTH, Kind, Query, parse_query

DASHBOARD = "https://app.bik.ai/customers/{bik_id}"
PATTERN = re.compile(r"ORD-[0-9]{3,8}")
TRAILING = ".,;:!?)'\"‘’“”«»„‚"  # SPEC 9.1: not part of an id at its end


def P(value: str) -> Query:
    return Query(Kind.PARTNER, value)


def B(value: str) -> Query:
    return Query(Kind.BIK, value)


def ids(text: str | None = None, blocks: object = None, **config: Any) -> tuple[Query, ...]:
    config.setdefault("dashboard_url", DASHBOARD)
    config.setdefault("id_pattern", PATTERN)
    return find_ids(text, blocks, **config).queries


def rich_text(*elements: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "type": "rich_text",
            "block_id": "Wq8=B",
            "elements": [{"type": "rich_text_section", "elements": list(elements)}],
        }
    ]


def text_element(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


# -- the forms, in message text ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("customer partner:abcd-122345 says hi", (P("abcd-122345"),)),
        ("bik:5482636", (B("5482636"),)),
        ("Partner:AbC BIK:0012", (P("AbC"), B("12"))),
        ("partner:a:b", (P("a:b"),)),
        # invalid tokens are skipped, not errors
        ("bik:abc bik:0 bik:12345678901234567890 partner: partner:ok", (P("ok"),)),
        ("partner:" + "x" * (MAX_ID_LENGTH + 1), ()),
        # no prefix, no pattern match: a bare word is not an id
        ("abcd-122345 12345", ()),
        # a prefix glued to other text is not a token
        ("xpartner:abc id=bik:12", ()),
    ],
)
def test_explicit_tokens(text, expected):
    assert ids(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("look at partner:abc.", P("abc")),
        ("partner:abc, then", P("abc")),
        ("partner:abc; partner:abc: partner:abc!", P("abc")),
        ("is it partner:abc?", P("abc")),
        ("(partner:abc)", P("abc")),
        ("(see partner:abc).", P("abc")),
        ("'partner:abc'", P("abc")),
        ('"partner:abc"', P("abc")),
        ("‘partner:abc’", P("abc")),
        ("“partner:abc”", P("abc")),
        ("«partner:abc»", P("abc")),
        ("„partner:abc“", P("abc")),
        ("»partner:abc«", P("abc")),
        ("partner:abc?!...", P("abc")),
        ("bik:42).", B("42")),
        ("bik:42”", B("42")),
        # mrkdwn markers wrapping the whole token, as user messages' text carries them
        ("*partner:abc*", P("abc")),
        ("_partner:abc_", P("abc")),
        ("~partner:abc~", P("abc")),
        ("`partner:abc`", P("abc")),
        ("```partner:abc```", P("abc")),
        ("(*`partner:abc`*).", P("abc")),
        # inside the id, punctuation stays
        ("partner:a.b,c)d", P("a.b,c)d")),
        # a marker that does not wrap the token is part of the id
        ("partner:a_b_", P("a_b_")),
        ("partner:abc*", P("abc*")),
    ],
)
def test_trailing_punctuation_and_quotes_are_not_part_of_an_id(text, expected):
    assert ids(text) == (expected,)


@pytest.mark.parametrize(
    "text",
    [
        "partner:abc\npartner:def",
        "partner:abc\tpartner:def",
        "partner:abc\u00a0partner:def",  # no-break space
        "partner:abc\u200bpartner:def",  # zero-width space: invisible, and refused in an id anyway
        "partner:abc\u2060partner:def",  # word joiner
        "partner:abc\x00partner:def",
    ],
)
def test_an_id_ends_at_whitespace_and_invisible_characters(text):
    assert ids(text) == (P("abc"), P("def"))


# -- dashboard links -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see <https://app.bik.ai/customers/5482636|the customer>", (B("5482636"),)),
        ("see <https://app.bik.ai/customers/5482636>", (B("5482636"),)),
        ("<https://app.bik.ai/customers/007|x>", (B("7"),)),
        ("<https://app.bik.ai/customers/42/orders?tab=1&amp;x=2|orders>", (B("42"),)),
        ("<http://APP.BIK.AI/customers/42#top>", (B("42"),)),
        # a bare URL in running text, trailing punctuation dropped
        ("see https://app.bik.ai/customers/42).", (B("42"),)),
        # not the dashboard
        ("<https://evil.example/customers/42|bik>", ()),
        ("<https://app.bik.ai/customers/42abc>", ()),
        ("<https://app.bik.ai/customers/0>", ()),
        ("<https://app.bik.ai/customers/12345678901234567890>", ()),
        ("<https://app.bik.ai/customers/>", ()),
        ("<https://app.bik.ai/other/42>", ()),
        # another link's label is running text, its URL is not
        ("<https://example.com/partner:nope|partner:yes>", (P("yes"),)),
        # a dashboard link's label names the same customer: not read (here it would match the pattern)
        ("<https://app.bik.ai/customers/42|ORD-123>", (B("42"),)),
    ],
)
def test_dashboard_links_in_message_text(text, expected):
    assert ids(text) == expected


def test_dashboard_links_in_rich_text_link_elements():
    blocks = rich_text(
        text_element("see "),
        {"type": "link", "url": "https://app.bik.ai/customers/42", "text": "ORD-555"},
        text_element(" and "),
        {"type": "link", "url": "https://example.com/", "text": "ORD-556"},
        {"type": "link", "url": "https://app.bik.ai/customers/43?a=1&b=2"},
    )
    assert ids(None, blocks) == (B("42"), P("ORD-556"), B("43"))


def test_no_dashboard_template_no_links():
    text = "<https://app.bik.ai/customers/42> https://app.bik.ai/customers/43 bik:44"
    assert ids(text, dashboard_url=None) == (B("44"),)


@pytest.mark.parametrize(
    ("template", "url", "expected"),
    [
        (DASHBOARD, "https://app.bik.ai/customers/42", "42"),
        (DASHBOARD, "https://app.bik.ai/customers/0042/", "42"),
        (DASHBOARD, "HTTPS://App.Bik.Ai/customers/42?x", "42"),
        (DASHBOARD, "https://app.bik.ai/Customers/42", None),  # the path keeps its case
        (DASHBOARD, "https://app.bik.ai.evil.example/customers/42", None),
        (DASHBOARD, "https://app.bik.ai/customers/42.html", None),
        (DASHBOARD, "xhttps://app.bik.ai/customers/42", None),
        (DASHBOARD, "https://appxbikxai/customers/42", None),  # dots are literal
        ("https://app.bik.ai/c/{bik_id}/profile", "https://app.bik.ai/c/42", "42"),
        ("https://app.bik.ai/c/{bik_id}?tab=profile", "https://app.bik.ai/c/42", "42"),
        ("https://app.bik.ai/c/{bik_id}.html", "https://app.bik.ai/c/42.html?x=1", "42"),
        ("https://app.bik.ai/c/{bik_id}.html", "https://app.bik.ai/c/42", None),
        ("https://app.bik.ai/c?id={bik_id}", "https://app.bik.ai/c?id=42&tab=2", None),
        ("https://app.bik.ai/c?id={bik_id}", "https://app.bik.ai/c?id=42#x", "42"),
        ("https://app.bik.ai/{{x}}/{bik_id}", "https://app.bik.ai/{x}/42", "42"),
        ("https://app.bik.ai/{bik_id}/c/{bik_id}", "https://app.bik.ai/4/c/4", "4"),
        ("https://app.bik.ai/{bik_id}/c/{bik_id}", "https://app.bik.ai/4/c/5", None),
        (None, "https://app.bik.ai/customers/42", None),
        ("https://app.bik.ai/customers/", "https://app.bik.ai/customers/42", None),
        ("https://app.bik.ai/{id}", "https://app.bik.ai/42", None),
        ("https://app.bik.ai/{bik_id:>5}", "https://app.bik.ai/42", None),
        ("https://app.bik.ai/{bik_id", "https://app.bik.ai/42", None),
    ],
)
def test_bik_id_from_url(template, url, expected):
    assert bik_id_from_url(url, template) == expected


def test_dashboard_link_pattern_escapes_everything_but_the_id():
    pattern = dashboard_link_pattern("https://a.example/x+y/(z)/{bik_id}")
    assert pattern is not None
    assert pattern.fullmatch("https://a.example/x+y/(z)/5")
    assert not pattern.fullmatch("https://a.example/xxy/z/5")
    assert dashboard_link_pattern(None) is None
    assert dashboard_link_pattern("") is None


# -- BIK_ID_PATTERN ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("order ORD-12345 is late", (P("ORD-12345"),)),
        ("ORD-12345, ORD-999.", (P("ORD-12345"), P("ORD-999"))),
        ("(ORD-12345)", (P("ORD-12345"),)),
        ("*ORD-12345*", (P("ORD-12345"),)),
        # the whole token must match: not a search inside it
        ("xORD-12345 ORD-12345x ORD-12 order#ORD-12345", ()),
        # explicit tokens are parsed by the grammar, not the pattern
        ("partner:ORD-1", (P("ORD-1"),)),
    ],
)
def test_bare_ids_matching_the_pattern_are_partner_ids(text, expected):
    assert ids(text) == expected


def test_bare_digits_matching_the_pattern_are_partner_ids_without_the_bik_fallback():
    (query,) = ids("12345678", id_pattern=re.compile(r"[0-9]{8}"))
    assert query == P("12345678")
    assert query.digits_fallback is False


def test_no_pattern_no_bare_ids():
    assert ids("ORD-12345", id_pattern=None) == ()


def test_the_pattern_is_never_applied_to_more_than_one_token_of_128_characters():
    seen: list[str] = []

    class Spy:
        def fullmatch(self, token: str) -> None:
            seen.append(token)

    text = "a " + "b" * (MAX_ID_LENGTH + 1) + " " + "c" * MAX_ID_LENGTH + " <@U1> d\u200be"
    find_ids(text, rich_text(text_element("f g")), id_pattern=Spy())  # type: ignore[arg-type]
    assert seen == ["a", "c" * MAX_ID_LENGTH, "d", "e", "f", "g"]


def test_a_backtracking_pattern_on_hostile_text_is_bounded():
    # quadratic per token: ~128² steps per token, tokens bounded by the text bound
    pattern = re.compile(r"(?:a|b)*?(?:a|b)*c")
    hostile = ("a" * MAX_ID_LENGTH + " ") * (10 * MAX_TEXT_CHARS // MAX_ID_LENGTH)
    started = time.perf_counter()
    assert find_ids(hostile, [{"type": "mrkdwn", "text": hostile}], id_pattern=pattern) == Found(())
    assert time.perf_counter() - started < 10


# -- order, duplicates, the limit -----------------------------------------------------------------


def test_a_dashboard_link_and_bik_token_of_the_same_id_count_once():
    text = "<https://app.bik.ai/customers/42|Asha> is bik:42 (bik:0042) https://app.bik.ai/customers/42"
    blocks = rich_text({"type": "link", "url": "https://app.bik.ai/customers/42"}, text_element(" bik:42"))
    assert find_ids(text, blocks, dashboard_url=DASHBOARD) == Found((B("42"),), 0)


def test_duplicates_across_forms_and_surfaces_count_once_in_order_of_first_appearance():
    text = "ORD-111 partner:ORD-111 bik:7 partner:x"
    blocks = rich_text(text_element("partner:x bik:7 partner:y ORD-111"))
    assert ids(text, blocks) == (P("ORD-111"), B("7"), P("x"), P("y"))


def test_partner_and_bik_ids_of_the_same_digits_are_different_ids():
    assert ids("partner:42 bik:42") == (P("42"), B("42"))


def test_order_of_appearance_text_first_then_blocks_depth_first():
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "partner:h"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "partner:s <https://app.bik.ai/customers/1|one>"},
            "fields": [
                {"type": "mrkdwn", "text": "partner:f1"},
                {"type": "plain_text", "text": "partner:f2"},
            ],
            "accessory": {
                "type": "button",
                "text": {"type": "plain_text", "text": "partner:btn"},
                "url": "https://app.bik.ai/customers/2",
                "value": "partner:value-is-not-text",
                "action_id": "partner:nor-is-this",
            },
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "partner:c"}]},
        *rich_text(text_element("partner:r")),
    ]
    found = find_ids("partner:t", blocks, dashboard_url=DASHBOARD)
    assert found.queries == (P("t"), P("h"), P("s"), B("1"), P("f1"))
    assert found.more == 5  # f2, 2 (the button's link: its label names that customer), c, r


def test_rich_text_lists_quotes_and_preformatted_are_read():
    blocks = [
        {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_list",
                    "style": "bullet",
                    "indent": 0,
                    "elements": [
                        {"type": "rich_text_section", "elements": [text_element("partner:l1")]},
                        {"type": "rich_text_section", "elements": [text_element("partner:l2")]},
                    ],
                },
                {"type": "rich_text_quote", "elements": [text_element("partner:q")]},
                {"type": "rich_text_preformatted", "elements": [text_element("partner:p\n")]},
            ],
        }
    ]
    assert ids(None, blocks) == (P("l1"), P("l2"), P("q"), P("p"))


def test_more_than_five_returns_the_first_five_and_counts_the_rest():
    text = " ".join(f"partner:p{i}" for i in range(8)) + " partner:p0 partner:p7"
    found = find_ids(text, rich_text(text_element("bik:9")))
    assert found.queries == tuple(P(f"p{i}") for i in range(MAX_FOUND))
    assert found.more == 4  # p5, p6, p7, bik:9


def test_exactly_five_is_not_more():
    assert find_ids(" ".join(f"bik:{i}" for i in range(1, 6)), None).more == 0


@pytest.mark.parametrize(
    ("text", "blocks"),
    [
        (None, None),
        ("", []),
        ("nothing to see here: 12345, abcd-122345", rich_text(text_element("no ids"))),
        ("partner: bik: bik:x", None),
    ],
)
def test_nothing_found(text, blocks):
    assert find_ids(text, blocks, dashboard_url=DASHBOARD, id_pattern=PATTERN) == Found((), 0)


# -- Slack's escaping and markup ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("partner:a&amp;b", (P("a&b"),)),
        ("partner:a&lt;b&gt;", (P("a<b>"),)),
        ("partner:&amp;lt;x", (P("&lt;x"),)),  # a typed "&lt;" stays as typed
        ("&lt;@U1&gt; partner:x", (P("x"),)),  # typed angle brackets are text, not a mention
        ("&lt;partner:x&gt;", ()),  # "<" is not dropped from a token's start
        # markup ends a token
        ("partner:abc<@U123>", (P("abc"),)),
    ],
)
def test_escaped_entities(text, expected):
    assert ids(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "<@U123> <@U123|partner:bob> <@W123>",
        "<#C123|partner:general> <#C123>",
        "<!here> <!channel> <!subteam^S123|@partner:team> <!date^1392734382^{date}|partner:feb>",
    ],
)
def test_mentions_channels_and_special_mentions_are_ignored(text):
    assert ids(text) == ()


def test_rich_text_mentions_emoji_and_ids_are_not_text():
    blocks = rich_text(
        {"type": "user", "user_id": "U1"},
        {"type": "channel", "channel_id": "C1"},
        {"type": "emoji", "name": "partner"},
        {"type": "usergroup", "usergroup_id": "S1"},
        text_element("hi <@U1> partner:&amp;x"),
    )
    # rich text carries no markup: the "<@U1>" a person typed is a token like any other
    assert ids(None, blocks) == (P("&x"),)


def test_shortcut_payload_as_slack_sends_it():
    message = {
        "type": "message",
        "text": "customer abcd-122345 says partner:abcd-122345 never arrived",
        "blocks": rich_text(text_element("customer abcd-122345 says partner:abcd-122345 never arrived")),
    }
    assert ids(message["text"], message["blocks"]) == (P("abcd-122345"),)


# -- tolerance and bounds --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "blocks",
    [
        None,
        "partner:not-blocks",
        42,
        {"type": "rich_text"},
        [None, 1, "x", 2.5, True, [], {}],
        [{"type": ["unhashable"], "text": "partner:a"}],
        [{"type": {"x": 1}, "text": {"type": None, "text": "partner:b"}}],
        [{"type": "link", "url": 42, "text": "partner:c"}],
        [{"type": "link", "url": None}],
        [{"type": "section", "text": None, "fields": "nope", "elements": {"a": [None]}}],
        [{1: "partner:int-key", None: [], "text": ["partner:in-a-list"]}],
        [{"elements": ({"type": "text", "text": "partner:in-a-tuple"},)}],
    ],
)
def test_malformed_blocks_never_raise(blocks):
    found = find_ids("partner:t", blocks, dashboard_url=DASHBOARD, id_pattern=PATTERN)
    assert found.queries[0] == P("t")


def test_strings_in_odd_places_are_read_only_under_text():
    blocks = [{"type": ["x"], "text": "partner:a"}, {"text": {"text": "partner:b"}}, {"value": "partner:c"}]
    assert ids(None, blocks) == (P("a"), P("b"))


def test_blocks_deeper_than_the_bound_are_ignored():
    def nested(depth: int) -> object:
        node: object = {"type": "text", "text": f"partner:d{depth}"}
        for _ in range(depth):
            node = [node]
        return node

    assert ids(None, nested(MAX_BLOCK_DEPTH - 1)) == (P(f"d{MAX_BLOCK_DEPTH - 1}"),)
    assert ids(None, nested(MAX_BLOCK_DEPTH)) == ()
    assert ids(None, nested(100_000)) == ()  # no recursion


def test_a_cycle_does_not_hang():
    loop: list[object] = [{"type": "text", "text": "partner:x"}]
    loop.append(loop)
    assert ids(None, loop) == (P("x"),)


def test_text_beyond_the_bound_is_ignored_and_a_cut_token_is_dropped():
    filler = "x " * ((MAX_TEXT_CHARS - 20) // 2)
    text = filler + "partner:before " + "partner:straddling-the-bound " + "partner:after"
    assert len(filler) + len("partner:before ") < MAX_TEXT_CHARS < len(filler) + 43
    assert ids(text) == (P("before"),)


def test_block_text_beyond_the_bound_is_ignored():
    big = {"type": "mrkdwn", "text": "y " * 20_000}
    assert ids(None, [big, big, {"type": "mrkdwn", "text": "partner:late"}]) == ()
    assert ids("partner:text-has-its-own-bound", [big, big]) == (P("text-has-its-own-bound"),)


def test_many_blocks_are_bounded():
    blocks = [{"type": "divider"}] * 50_000 + [{"type": "mrkdwn", "text": "partner:late"}]
    started = time.perf_counter()
    assert ids(None, blocks) == ()
    assert time.perf_counter() - started < 2


def test_huge_tokens_are_skipped_cheaply():
    text = "*" * 15_000 + " " + "partner:" + "(" * 15_000 + " bik:5 " + "_" * 5_000
    assert ids(text) == (B("5"),)


# -- properties ----------------------------------------------------------------------------------

_KEYS = st.sampled_from(["type", "text", "url", "elements", "fields", "block_id", "accessory", "name"])
_TYPES = st.sampled_from(["rich_text", "rich_text_section", "text", "link", "mrkdwn", "plain_text", "user"])
_IDISH = st.sampled_from(
    [
        "partner:abc",
        "bik:42",
        "bik:0",
        "ORD-1234",
        "https://app.bik.ai/customers/42",
        "<https://app.bik.ai/customers/7|x>",
        "<@U1>",
        "&amp;",
        "&lt;",
        "<",
        ">",
        "*",
        ").",
        "\u200b",
    ]
)
_TEXT = st.lists(st.one_of(_IDISH, st.text(max_size=20)), max_size=8).map(" ".join) | st.text()
_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | _TEXT | _TYPES,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(_KEYS | st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=30,
)


@given(text=st.none() | _TEXT, blocks=_JSONISH)
@example(text="partner:a&amp;b bik:007 <https://app.bik.ai/customers/7>", blocks=None)
def test_never_raises_and_results_are_valid_distinct_and_at_most_five(text, blocks):
    found = find_ids(text, blocks, dashboard_url=DASHBOARD, id_pattern=PATTERN)
    assert len(found.queries) <= MAX_FOUND
    assert len(set(found.queries)) == len(found.queries)
    assert found.more >= 0
    assert found.more == 0 or len(found.queries) == MAX_FOUND
    for query in found.queries:
        assert parse_query(str(query)) == query


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_ID = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"]),
    min_size=1,
    max_size=MAX_ID_LENGTH,
).filter(lambda value: value.isprintable() and value[-1] not in TRAILING)
_AROUND = st.text(st.characters(codec="utf-8", exclude_characters=":"))


@given(before=_AROUND, value=_ID, after=_AROUND, space=st.sampled_from([" ", "\n", "\t", " \n ", "\u3000"]))
@example(before="", value="a&lt;b", after="", space=" ")
@example(before="x<@U1>", value="<@U1>", after="*", space=" ")
def test_a_partner_token_between_whitespace_is_always_found(before, value, after, space):
    text = _slack_escape(before + space + "partner:" + value + space + after)
    assert find_ids(text, None).queries == (P(value),)
    if "&" not in value:  # rich text is unescaped defensively (see the module's docstring)
        block_text = before + space + "partner:" + value + space + after
        assert find_ids(None, rich_text(text_element(block_text))).queries == (P(value),)
