from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.query import (
    MAX_QUERIES,
    HelpRequest,
    Kind,
    Lookup,
    Query,
    QueryError,
    parse_command,
    parse_query,
    unescape_slack,
)


def queries(text: str) -> tuple[Query, ...]:
    command = parse_command(text)
    assert isinstance(command, Lookup)
    return command.queries


@pytest.mark.parametrize("text", [None, "", "   ", "help", "HELP", "--help", "-h", "?", " help "])
def test_help_for_empty_text_and_help_words(text):
    assert parse_command(text) == HelpRequest()


def test_partner_bik_and_bare_forms():
    assert queries("partner:abcd-122345 bik:5482636 store-9") == (
        Query(Kind.PARTNER, "abcd-122345"),
        Query(Kind.BIK, "5482636"),
        Query(Kind.PARTNER, "store-9"),
    )


def test_prefixes_are_case_insensitive_and_ids_are_not():
    assert queries("Partner:AbC BIK:12") == (Query(Kind.PARTNER, "AbC"), Query(Kind.BIK, "12"))


def test_bare_digits_fall_back_to_bik_id_and_other_bare_ids_do_not():
    assert queries("12345") == (Query(Kind.PARTNER, "12345", digits_fallback=True),)
    assert queries("a12345") == (Query(Kind.PARTNER, "a12345"),)
    assert queries("0")[0].digits_fallback is False  # not a valid BIK id (value > 0)
    assert queries("1" * 20)[0].digits_fallback is False  # more than 19 digits


def test_duplicates_are_dropped_keeping_order():
    assert queries("b a b partner:a bik:7 bik:007") == (
        Query(Kind.PARTNER, "b"),
        Query(Kind.PARTNER, "a"),
        Query(Kind.BIK, "7"),
    )


def test_five_queries_are_fine_six_are_an_error_and_duplicates_do_not_count():
    assert len(queries("a b c d e")) == MAX_QUERIES
    assert len(queries("a b c d e a b")) == MAX_QUERIES
    with pytest.raises(QueryError, match="at most 5"):
        parse_command("a b c d e f")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("bik:abc", "isn't a BIK id"),
        ("bik:", "isn't a BIK id"),
        ("bik:0", "isn't a BIK id"),
        ("bik:-5", "isn't a BIK id"),
        ("bik:12345678901234567890", "isn't a BIK id"),
        ("bik:١٢٣", "isn't a BIK id"),  # Arabic-Indic digits are not ASCII digits
        ("partner:", "no id after the colon"),
        ("x" * 129, "at most 128"),
        ("abc\u200bdef", "invisible or control characters"),
        ("abc\u202edef", "invisible or control characters"),
        ("abc\x00def", "invisible or control characters"),
        ("<@U123ABC>", "`U123ABC` is a mention"),
        ("<@W123ABC|jane doe>", "`@jane doe` is a mention"),
        ("<#C123|general>", "`#general` is a channel"),
        ("<#C123>", "`C123` is a channel"),
        ("<!here>", "`@here` is a special mention"),
        ("<!subteam^S123|@support>", "`@support` is a special mention"),
        ("<https://example.com/a?b=1|x>", "`https://example.com/a?b=1` is a link"),
        ("<mailto:a@b.c|a@b.c>", "`mailto:a@b.c` is a link"),
        ("x " * 600, "look up at most 5 ids"),
    ],
)
def test_invalid_input_names_the_bad_query(text, fragment):
    with pytest.raises(QueryError) as caught:
        parse_command(text)
    assert fragment in caught.value.message


def test_typed_entities_are_unescaped_but_escaped_markup_is_data():
    assert queries("a&amp;b") == (Query(Kind.PARTNER, "a&b"),)
    assert queries("&lt;@U1&gt;") == (Query(Kind.PARTNER, "<@U1>"),)
    assert unescape_slack("&amp;lt;") == "&lt;"


def test_error_messages_escape_what_the_user_typed():
    with pytest.raises(QueryError) as caught:
        parse_command("bik:&lt;!channel&gt;")
    assert "<!channel>" not in caught.value.message
    assert "&lt;!channel&gt;" in caught.value.message


# -- properties -----------------------------------------------------------------------------------

slackish = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from(list("<>&:@#!| \t\n")),
    max_size=300,
)


@given(slackish)
@example("bik:" + "9" * 19)
@example("&lt;@U1&gt;")
@example("partner:" + "x" * 10_000)
def test_parse_never_raises_anything_but_query_error(text):
    try:
        result = parse_command(text)
    except QueryError as exc:
        assert exc.message
        return
    if isinstance(result, Lookup):
        assert 1 <= len(result.queries) <= MAX_QUERIES
        for q in result.queries:
            assert q.value and q.value.isprintable() and not any(ch.isspace() for ch in q.value)
            assert len(q.value) <= 128


partner_ids = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=["Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"]
    ),
    min_size=1,
    max_size=128,
).filter(lambda s: s.isprintable() and not any(c.isspace() for c in s))


@given(partner_ids)
def test_partner_ids_round_trip(value):
    query = parse_query(f"partner:{value}")
    assert query == Query(Kind.PARTNER, value)
    assert parse_query(str(query)) == query


@given(st.integers(min_value=1, max_value=10**19 - 1))
def test_bik_ids_round_trip(number):
    query = parse_query(f"bik:{number}")
    assert query == Query(Kind.BIK, str(number))
    assert parse_query(str(query)) == query


@given(partner_ids)
def test_slack_escaping_round_trips(value):
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert queries(f"partner:{escaped}") == (Query(Kind.PARTNER, value),)


@given(st.lists(st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True), min_size=6, max_size=400, unique=True))
def test_more_than_five_distinct_ids_is_refused_whatever_the_count(ids):
    with pytest.raises(QueryError) as caught:
        parse_command(" ".join(ids))
    assert "at most 5" in caught.value.message


def test_markup_is_named_without_any_live_markup_left():
    for text in ("<@U1|<!channel>>", "<!channel>", "<@U1|x&gt;y>", "<https://a.b/<c>|d>"):
        with pytest.raises(QueryError) as caught:
            parse_command(text)
        message = caught.value.message
        assert "<!" not in message and "<@" not in message and "<http" not in message


@given(st.text(min_size=1, max_size=30).filter(lambda t: not t.isprintable() and not t.isspace()))
def test_a_bad_id_is_echoed_with_no_control_or_bidi_character(token):
    try:
        parse_command("partner:" + token.replace(" ", "").replace("\n", "") or "partner:\x1b")
    except QueryError as caught:
        assert caught.message.isprintable()
