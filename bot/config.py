"""Typed configuration from the environment and `.env` (SPEC section 6).

Everything the bot needs arrives through :class:`Settings`; nothing else reads ``os.environ``.
Bolt would read ``SLACK_*`` variables on its own, so the app wiring passes every value explicitly.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Literal

from limits import parse as parse_rate_limit
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d*,)")


DEFAULT_SCOPES = (
    "commands,channels:read,groups:read,im:read,mpim:read,users:read,usergroups:read,links:read,links:write"
)


class ConfigError(Exception):
    """A missing or malformed setting: the message is one line meant for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    bik_api_base_url: str = "https://bikapi.bikayi.app/integrations"
    bik_api_token: SecretStr | None = None
    bik_api_key: SecretStr | None = None
    bik_api_secret: SecretStr | None = None
    bik_timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    bik_access_policy: Path = Path("access.toml")
    bik_dashboard_url: str | None = None
    bik_rate_limit: str = "30/minute"
    bik_sandbox: bool = False
    """Development only: answer from the bundled sandbox customers instead of BIK."""

    redis_url: str | None = None
    port: int = Field(default=3000, ge=0, le=65535)
    web_concurrency: int = Field(default=1, ge=1, le=64)
    log_level: LogLevel = "INFO"
    bik_id_pattern: str | None = None
    """A regular expression for the store's partner ids, to find bare ids in messages (SPEC 9.1)."""
    bik_recent_lookups: int = Field(default=10, ge=0, le=100)
    bik_policy_reload_seconds: float = Field(default=5.0, ge=0, le=3600)
    metrics_token: SecretStr | None = None
    slack_response_url_prefixes: str = "https://hooks.slack.com/,https://hooks.slack-gov.com/"
    """Where replies may be posted (comma-separated URL prefixes): Slack's hooks; a stand-in's in tests."""

    # -- distribution mode (SPEC 11) ----------------------------------------------------------------
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_scopes: str = DEFAULT_SCOPES
    """The bot scopes asked for at install (comma-separated), as in manifest.yml."""
    slack_redirect_uri: str | None = None
    """The OAuth redirect URL registered with Slack; by default Slack uses the one in the app's
    settings (``https://<host>/slack/oauth_redirect``)."""
    slack_oauth_url: str = "https://slack.com/oauth/v2/authorize"
    database_url: str = "sqlite+aiosqlite:///bik-slack.db"
    bik_credentials_keys: SecretStr | None = None
    """Fernet keys, comma-separated: the first encrypts, every one decrypts (rotation)."""
    database_migrate: bool = True
    """Run the database migrations at start-up (else ``python -m bot db upgrade`` first)."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("slack_api_url", "bik_api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("bik_dashboard_url")
    @classmethod
    def _dashboard_template(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")) or "{bik_id}" not in value:
            raise ValueError("must be an http(s) URL containing {bik_id}")
        try:
            value.format(bik_id="1")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError("may contain no placeholder other than {bik_id}") from exc
        return value

    @field_validator("bik_id_pattern")
    @classmethod
    def _id_pattern(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"is not a regular expression: {exc}") from exc
        if _NESTED_QUANTIFIER.search(value):
            # ``(a+)+`` backtracks for ever on hostile text, and Python's re has no timeout.
            raise ValueError("has a repeated group that itself repeats (like (a+)+); simplify it")
        return value

    @field_validator("bik_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        try:
            parse_rate_limit(value)
        except ValueError as exc:
            raise ValueError("must look like '30/minute' or '100 per hour'") from exc
        return value

    # -- derived values ---------------------------------------------------------------------------

    @property
    def response_url_prefixes(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.slack_response_url_prefixes.split(",") if p.strip())

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def distribution(self) -> bool:
        """Many workspaces (SPEC 11): OAuth client credentials and no single bot token."""
        return bool(self.slack_client_id and self.slack_client_secret and self.slack_bot_token is None)

    @property
    def scopes(self) -> list[str]:
        return [s.strip() for s in self.slack_scopes.split(",") if s.strip()]

    @property
    def credential_keys(self) -> list[str]:
        raw = self.bik_credentials_keys.get_secret_value() if self.bik_credentials_keys else ""
        return [k.strip() for k in raw.split(",") if k.strip()]

    @property
    def bik_authorization(self) -> SecretStr | None:
        """The value after ``Basic `` in the Authorization header, or None when not configured."""
        if self.bik_api_token is not None:
            return self.bik_api_token
        if self.bik_api_key is not None and self.bik_api_secret is not None:
            pair = f"{self.bik_api_key.get_secret_value()}:{self.bik_api_secret.get_secret_value()}"
            return SecretStr(base64.b64encode(pair.encode()).decode())
        return None

    def require_for_serving(self) -> None:
        """Fail with one line when a variable the server needs is missing."""
        if self.distribution:
            self.require_for_distribution()
            return
        missing = []
        if self.slack_bot_token is None:
            missing.append("SLACK_BOT_TOKEN")
        if not self.socket_mode and self.slack_signing_secret is None:
            missing.append("SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)")
        if missing:
            raise ConfigError(
                f"configuration: missing {', '.join(missing)}; set it in the environment or .env"
            )
        self.require_bik()

    def require_for_distribution(self) -> None:
        """Distribution mode: OAuth over HTTP, a signing secret, a database and the credential keys."""
        missing = []
        if self.slack_signing_secret is None:
            missing.append("SLACK_SIGNING_SECRET")
        if not self.credential_keys:
            missing.append("BIK_CREDENTIALS_KEYS")
        if missing:
            raise ConfigError(
                f"configuration: missing {', '.join(missing)} (distribution mode, SLACK_CLIENT_ID is set); "
                "set it in the environment or .env"
            )
        if self.socket_mode:
            raise ConfigError(
                "configuration: distribution mode (SLACK_CLIENT_ID) serves Slack's install flow over HTTP; "
                "unset SLACK_APP_TOKEN"
            )
        self.require_database()

    def require_database(self) -> None:
        if not self.database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ConfigError(
                "configuration: DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        if not self.credential_keys:
            raise ConfigError(
                "configuration: missing BIK_CREDENTIALS_KEYS; set it in the environment or .env"
            )
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(self.database_url)
        except (ArgumentError, ValueError):  # a port that is not a number, say
            raise ConfigError("configuration: DATABASE_URL is not a valid database URL") from None
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            folder = Path(url.database).parent
            if not folder.is_dir():
                raise ConfigError(f"configuration: DATABASE_URL: no directory {folder} for the SQLite file")

    def require_bik(self) -> None:
        if self.bik_authorization is None and not self.bik_sandbox:
            raise ConfigError(
                "configuration: missing BIK_API_TOKEN (or both BIK_API_KEY and BIK_API_SECRET); "
                "set it in the environment or .env"
            )


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's report into one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "?"
            problems.append(f"{name} {_short(error['msg'])}")
        raise ConfigError("configuration: " + "; ".join(problems)) from None


def _short(message: str) -> str:
    return message.removeprefix("Value error, ").replace("Input should be", "should be")
