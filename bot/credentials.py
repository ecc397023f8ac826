"""BIK credentials of one workspace, sealed at rest with Fernet (SPEC 11).

``BIK_CREDENTIALS_KEYS`` holds one or more Fernet keys, comma-separated: the first encrypts, every one
decrypts. To rotate, put a new key first, keep the old ones after it, and re-seal what is stored
(``python -m bot workspace rekey``); then the old keys can go. Plain values never leave this module
except as the ``Authorization`` header BIK needs, and never in a ``repr``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from bot.config import ConfigError
from bot.logs import register_secrets

MAX_CREDENTIAL_CHARS = 512
"""No BIK token, key or secret is longer; anything longer is refused before any work is spent."""


class CredentialsUnreadable(Exception):
    """A stored credential that none of the configured keys decrypts (a key was removed too soon)."""


@dataclass(frozen=True, slots=True)
class BikCredentials:
    """Either a token, or a key and a secret (BIK's two ways to authenticate)."""

    token: SecretStr | None = None
    key: SecretStr | None = None
    secret: SecretStr | None = None

    def __post_init__(self) -> None:
        values = [v.get_secret_value() for v in (self.token, self.key, self.secret) if v is not None]
        if self.token is None and (self.key is None or self.secret is None):
            raise ValueError("give a token, or both a key and a secret")
        if self.token is not None and (self.key is not None or self.secret is not None):
            raise ValueError("give a token, or a key and a secret, not both")
        if self.key is not None and ":" in self.key.get_secret_value():
            raise ValueError("a BIK key cannot contain ':' (BIK reads key:secret)")
        for value in values:
            if (
                not value.strip()
                or len(value) > MAX_CREDENTIAL_CHARS
                or not value.isprintable()
                or not value.isascii()  # an HTTP header carries ASCII: anything else is a paste mistake
            ):
                raise ValueError(f"each value must be 1 to {MAX_CREDENTIAL_CHARS} printable ASCII characters")

    @property
    def kind(self) -> str:
        return "token" if self.token is not None else "key"

    @property
    def authorization(self) -> SecretStr:
        """The value after ``Basic `` in BIK's Authorization header (as ``Settings.bik_authorization``)."""
        if self.token is not None:
            return self.token
        assert self.key is not None and self.secret is not None
        pair = f"{self.key.get_secret_value()}:{self.secret.get_secret_value()}"
        return SecretStr(base64.b64encode(pair.encode()).decode())

    @property
    def hint(self) -> str:
        """The last 4 characters of the token or key: all that is ever shown again."""
        shown = (self.token or self.key).get_secret_value()  # type: ignore[union-attr]
        return shown[-4:] if len(shown) >= 8 else ""

    def secrets(self) -> list[str]:
        """Every value a log line must never carry (registered with the log redactor)."""
        plain = [v.get_secret_value() for v in (self.token, self.key, self.secret) if v is not None]
        return [*plain, self.authorization.get_secret_value()]


class CredentialBox:
    """Seal and open :class:`BikCredentials` with the configured Fernet keys."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ConfigError("configuration: BIK_CREDENTIALS_KEYS is empty")
        try:
            fernets = [Fernet(k.encode()) for k in keys]
        except (ValueError, TypeError):
            raise ConfigError(
                "configuration: BIK_CREDENTIALS_KEYS: each key must be a Fernet key (32 url-safe base64 "
                "bytes; make one with `python -m bot workspace newkey`)"
            ) from None
        register_secrets(keys)
        self._box = MultiFernet(fernets)

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    def seal(self, credentials: BikCredentials) -> str:
        plain = {
            name: value.get_secret_value()
            for name, value in (
                ("token", credentials.token),
                ("key", credentials.key),
                ("secret", credentials.secret),
            )
            if value is not None
        }
        return self._box.encrypt(json.dumps(plain).encode()).decode()

    def open(self, sealed: str) -> BikCredentials:
        try:
            plain = json.loads(self._box.decrypt(sealed.encode()))
        except (InvalidToken, ValueError):
            raise CredentialsUnreadable("no key in BIK_CREDENTIALS_KEYS opens this credential") from None
        credentials = BikCredentials(**{k: SecretStr(v) for k, v in plain.items()})
        register_secrets(credentials.secrets())
        return credentials

    def reseal(self, sealed: str) -> str:
        """The same credential under the first key (key rotation)."""
        try:
            return self._box.rotate(sealed.encode()).decode()
        except InvalidToken:
            raise CredentialsUnreadable("no key in BIK_CREDENTIALS_KEYS opens this credential") from None
