"""BIK credentials sealed at rest (bot/credentials.py): Fernet round trips, key rotation, validation,
and a plain value that never shows in a repr, a hint or a log line."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

import bot.logs
from bot.config import ConfigError
from bot.credentials import (
    MAX_CREDENTIAL_CHARS,
    BikCredentials,
    CredentialBox,
    CredentialsUnreadable,
)
from bot.logs import REDACTED, scrub_secrets

OLD, NEW, UNRELATED = (Fernet.generate_key().decode() for _ in range(3))
TOKEN = "bik-token-5f2a9c71e04d8b36"
KEY, SECRET = "bik-key-0a1b2c3d4e5f9931", "bik-secret-77e1d9a0c4b2f6e8"


@pytest.fixture(autouse=True)
def _own_log_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Opening a credential registers it with the log redactor for the life of the process; the
    values made up here must not redact other tests' log lines."""
    monkeypatch.setattr(bot.logs, "_secrets", list(bot.logs._secrets))
    monkeypatch.setattr(bot.logs, "_by_prefix", {k: list(v) for k, v in bot.logs._by_prefix.items()})
    yield


def token(value: str = TOKEN) -> BikCredentials:
    return BikCredentials(token=SecretStr(value))


def key_pair(key: str = KEY, secret: str = SECRET) -> BikCredentials:
    return BikCredentials(key=SecretStr(key), secret=SecretStr(secret))


def plain(credentials: BikCredentials) -> tuple[str | None, ...]:
    return tuple(
        v.get_secret_value() if v is not None else None
        for v in (credentials.token, credentials.key, credentials.secret)
    )


@pytest.mark.parametrize("credentials", [token(), key_pair()], ids=["token", "key-and-secret"])
def test_a_sealed_credential_opens_to_the_same_values(credentials: BikCredentials) -> None:
    box = CredentialBox([NEW])
    sealed = box.seal(credentials)
    opened = box.open(sealed)
    assert plain(opened) == plain(credentials)
    assert opened.kind == credentials.kind
    assert opened.authorization.get_secret_value() == credentials.authorization.get_secret_value()
    assert all(value not in sealed for value in plain(credentials) if value)


def test_sealing_twice_gives_different_ciphertexts() -> None:
    box = CredentialBox([NEW])
    assert box.seal(token()) != box.seal(token())


def test_authorization_is_the_token_or_base64_of_key_colon_secret() -> None:
    assert token().authorization.get_secret_value() == TOKEN
    expected = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    assert key_pair().authorization.get_secret_value() == expected


def test_the_hint_is_the_last_four_characters_of_the_token_or_the_key_never_the_secret() -> None:
    assert token().hint == TOKEN[-4:]
    assert key_pair().hint == KEY[-4:]
    assert SECRET[-4:] not in key_pair().hint


def test_a_short_value_gets_no_hint_rather_than_most_of_itself() -> None:
    assert token("abcdefg").hint == ""
    assert token("abcdefgh").hint == "efgh"


def test_rotation_old_seals_open_with_a_new_key_first_and_reseal_moves_them_to_it() -> None:
    sealed = CredentialBox([OLD]).seal(token())
    rotated = CredentialBox([NEW, OLD])
    assert plain(rotated.open(sealed)) == plain(token())

    resealed = rotated.reseal(sealed)
    assert plain(CredentialBox([NEW]).open(resealed)) == plain(token())
    with pytest.raises(CredentialsUnreadable):
        CredentialBox([OLD]).open(resealed)


def test_only_an_unrelated_key_cannot_open_or_reseal() -> None:
    sealed = CredentialBox([OLD]).seal(token())
    stranger = CredentialBox([UNRELATED])
    with pytest.raises(CredentialsUnreadable):
        stranger.open(sealed)
    with pytest.raises(CredentialsUnreadable):
        stranger.reseal(sealed)


@pytest.mark.parametrize("sealed", ["", "not a fernet token", "gAAAAA" + "A" * 80])
def test_garbage_is_unreadable_not_a_crash(sealed: str) -> None:
    with pytest.raises(CredentialsUnreadable):
        CredentialBox([NEW]).open(sealed)


@pytest.mark.parametrize(
    "keys",
    [[], ["not-a-fernet-key"], [NEW, "c2hvcnQ="], [NEW[:-2]], ["ab" * 32], ["correct horse battery staple"]],
    ids=["none", "not-base64", "second-too-short", "truncated", "hex", "password"],
)
def test_invalid_keys_stop_start_up_with_a_config_error_naming_the_variable(keys: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        CredentialBox(keys)
    message = str(caught.value)
    assert "BIK_CREDENTIALS_KEYS" in message and "\n" not in message
    assert all(k not in message for k in keys if k)


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"key": "k" * 8},
        {"secret": "s" * 8},
        {"token": "t" * 8, "key": "k" * 8},
        {"token": "t" * 8, "key": "k" * 8, "secret": "s" * 8},
        {"token": "t" * (MAX_CREDENTIAL_CHARS + 1)},
        {"key": "k" * 8, "secret": "s" * (MAX_CREDENTIAL_CHARS + 1)},
        {"token": ""},
        {"token": "   "},
        {"token": "tok\nen-1234"},
        {"key": "key\x00-1234", "secret": "s" * 8},
        {"key": "k" * 8, "secret": "sec\u200bret"},
        {"token": "t\u00f6ken-1234"},
    ],
    ids=[
        "nothing",
        "key-without-secret",
        "secret-without-key",
        "token-and-key",
        "token-and-pair",
        "token-too-long",
        "secret-too-long",
        "empty",
        "blank",
        "newline",
        "nul",
        "zero-width-space",
        "not-ascii",
    ],
)
def test_invalid_credentials_are_refused(values: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"token|printable"):
        BikCredentials(**{name: SecretStr(v) for name, v in values.items()})


def test_the_longest_allowed_value_is_accepted() -> None:
    longest = "t" * MAX_CREDENTIAL_CHARS
    assert plain(CredentialBox([NEW]).open(CredentialBox([NEW]).seal(token(longest)))) == (
        longest,
        None,
        None,
    )


@pytest.mark.parametrize("credentials", [token(), key_pair()], ids=["token", "key-and-secret"])
def test_repr_and_str_never_show_a_secret(credentials: BikCredentials) -> None:
    shown = repr(credentials) + str(credentials) + f"{credentials}" + repr(credentials.authorization)
    for value in (*plain(credentials), credentials.authorization.get_secret_value()):
        assert value is None or value not in shown


def test_an_opened_credential_is_scrubbed_from_every_log_line() -> None:
    box = CredentialBox([NEW])
    opened = box.open(box.seal(key_pair()))
    header = opened.authorization.get_secret_value()
    line = {"event": "bik_failed", "error": f"401 for {KEY}:{SECRET} (Basic {header})"}
    scrubbed = scrub_secrets(None, "error", line)["error"]
    assert KEY not in scrubbed and SECRET not in scrubbed and header not in scrubbed
    assert REDACTED in scrubbed


PRINTABLE = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    min_size=1,
    max_size=MAX_CREDENTIAL_CHARS,
).filter(str.strip)


@given(value=PRINTABLE)
def test_any_printable_token_survives_the_round_trip(value: str) -> None:
    box = CredentialBox([NEW, OLD])
    assert plain(box.open(box.seal(token(value)))) == (value, None, None)


@given(key=PRINTABLE.filter(lambda k: ":" not in k), secret=PRINTABLE)
def test_any_printable_key_and_secret_survive_the_round_trip_and_a_rotation(key: str, secret: str) -> None:
    sealed = CredentialBox([OLD]).seal(key_pair(key, secret))
    resealed = CredentialBox([NEW, OLD]).reseal(sealed)
    assert plain(CredentialBox([NEW]).open(resealed)) == (None, key, secret)


def test_a_key_with_a_colon_is_refused_since_bik_reads_key_colon_secret() -> None:
    with pytest.raises(ValueError, match="':'"):
        BikCredentials(key=SecretStr("store:key"), secret=SecretStr("secret-value"))
