from __future__ import annotations

import base64

import pytest

from bot.config import ConfigError, Settings, load_settings


def test_defaults_match_the_spec():
    s = Settings(_env_file=None)
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.bik_api_base_url == "https://bikapi.bikayi.app/integrations"
    assert s.bik_timeout_seconds == 15
    assert str(s.bik_access_policy) == "access.toml"
    assert s.bik_rate_limit == "30/minute"
    assert (s.port, s.web_concurrency, s.log_level) == (3000, 1, "INFO")
    assert s.redis_url is None and s.bik_dashboard_url is None and not s.socket_mode
    assert (s.bik_recent_lookups, s.bik_policy_reload_seconds) == (10, 5)
    assert s.bik_id_pattern is None and s.metrics_token is None


def test_missing_slack_token_names_the_variable_in_one_line(monkeypatch):
    monkeypatch.setenv("BIK_API_TOKEN", "t")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None).require_for_serving()
    assert "SLACK_BOT_TOKEN" in str(caught.value) and "\n" not in str(caught.value)


def test_signing_secret_not_needed_in_socket_mode(monkeypatch):
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "xapp-1",
        "BIK_API_TOKEN": "t",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(_env_file=None)
    settings.require_for_serving()
    assert settings.socket_mode


def test_missing_bik_credentials_are_named(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    with pytest.raises(ConfigError, match="BIK_API_TOKEN"):
        load_settings(_env_file=None).require_for_serving()


def test_basic_token_built_from_key_and_secret(monkeypatch):
    monkeypatch.setenv("BIK_API_KEY", "key")
    monkeypatch.setenv("BIK_API_SECRET", "secret")
    token = load_settings(_env_file=None).bik_authorization
    assert token is not None and base64.b64decode(token.get_secret_value()) == b"key:secret"


def test_explicit_token_wins_over_key_and_secret(monkeypatch):
    monkeypatch.setenv("BIK_API_TOKEN", "explicit")
    monkeypatch.setenv("BIK_API_KEY", "key")
    monkeypatch.setenv("BIK_API_SECRET", "secret")
    assert load_settings(_env_file=None).bik_authorization.get_secret_value() == "explicit"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("BIK_TIMEOUT_SECONDS", "soon", "BIK_TIMEOUT_SECONDS"),
        ("BIK_TIMEOUT_SECONDS", "0", "BIK_TIMEOUT_SECONDS"),
        ("BIK_RATE_LIMIT", "lots", "BIK_RATE_LIMIT"),
        ("BIK_DASHBOARD_URL", "https://x/customers", "{bik_id}"),
        ("BIK_DASHBOARD_URL", "https://x/{bik_id}/{other}", "BIK_DASHBOARD_URL"),
        ("SLACK_API_URL", "ftp://x", "SLACK_API_URL"),
        ("PORT", "eighty", "PORT"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
        ("BIK_ID_PATTERN", "ORD-[0-9", "BIK_ID_PATTERN is not a regular expression"),
        ("BIK_ID_PATTERN", "(a+)+", "repeats"),
        ("BIK_ID_PATTERN", r"(\w+\s?)*", "repeats"),
        ("BIK_RECENT_LOOKUPS", "-1", "BIK_RECENT_LOOKUPS"),
        ("BIK_POLICY_RELOAD_SECONDS", "often", "BIK_POLICY_RELOAD_SECONDS"),
    ],
)
def test_malformed_values_stop_with_one_line_naming_them(monkeypatch, name, value, fragment):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_dotenv_is_read_and_environment_wins(tmp_path, monkeypatch):
    env = tmp_path / ".env"
    env.write_text("BIK_TIMEOUT_SECONDS=7\nPORT=4000\n")
    monkeypatch.setenv("PORT", "5000")
    settings = load_settings(_env_file=env)
    assert settings.bik_timeout_seconds == 7 and settings.port == 5000


def test_secrets_do_not_show_in_repr(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    assert "xoxb-very-secret" not in repr(load_settings(_env_file=None))


def test_empty_variables_count_as_unset(monkeypatch):
    monkeypatch.setenv("SLACK_APP_TOKEN", "")
    assert not load_settings(_env_file=None).socket_mode


@pytest.mark.parametrize("pattern", ["ORD-[0-9]{6,10}", "[A-Z]{2}-[0-9]+", "(cust|ord)-[0-9]+"])
def test_simple_id_patterns_are_accepted(monkeypatch, pattern):
    monkeypatch.setenv("BIK_ID_PATTERN", pattern)
    assert load_settings(_env_file=None).bik_id_pattern == pattern


KEY = "0Yx0Zq4m3Jg2r0Jm8Zc1n3oH5d6Qz9WfV1b2L3k4M5A="


def distribution(monkeypatch, **env: str) -> Settings:
    values = {
        "SLACK_CLIENT_ID": "1111.2222",
        "SLACK_CLIENT_SECRET": "client-secret",
        "SLACK_SIGNING_SECRET": "signing",
        "BIK_CREDENTIALS_KEYS": KEY,
        **env,
    }
    for name, value in values.items():
        if value:
            monkeypatch.setenv(name, value)
    return load_settings()


def test_client_credentials_without_a_bot_token_mean_distribution_mode(monkeypatch):
    settings = distribution(monkeypatch)
    assert settings.distribution
    assert settings.database_url == "sqlite+aiosqlite:///bik-slack.db"  # SPEC 11's default
    settings.require_for_serving()  # no SLACK_BOT_TOKEN, no BIK_API_TOKEN needed
    assert "commands" in settings.scopes and settings.credential_keys == [KEY]


def test_a_bot_token_keeps_single_workspace_mode_even_with_client_credentials(monkeypatch):
    assert not distribution(monkeypatch, SLACK_BOT_TOKEN="xoxb-1").distribution


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"BIK_CREDENTIALS_KEYS": ""}, "BIK_CREDENTIALS_KEYS"),
        ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "unset SLACK_APP_TOKEN"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL must start with"),
    ],
)
def test_distribution_mode_names_what_is_missing_or_wrong(monkeypatch, env, fragment):
    settings = distribution(monkeypatch, **env)
    with pytest.raises(ConfigError, match=fragment):
        settings.require_for_serving()
