"""manifest.yml creates the app as-is: valid against Slack's schema, with the scopes the code needs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())
SCHEMA = json.loads((ROOT / "tests" / "data" / "manifest.schema.json").read_text())

# Each Web API method the bot calls, and the scopes Slack requires for it.
METHOD_SCOPES = {
    "conversations.info": {"channels:read", "groups:read", "im:read", "mpim:read"},
    "users.info": {"users:read"},
    "usergroups.users.list": {"usergroups:read"},
    "auth.test": set(),
    "views.open": set(),
    "views.update": set(),
    "views.publish": set(),
    "chat.unfurl": {"links:write"},
}
# Each event the bot subscribes to, and the scope Slack requires for it.
EVENT_SCOPES = {
    "app_home_opened": set(),
    "link_shared": {"links:read"},
    "app_uninstalled": set(),  # distribution mode (handlers/installs.py)
    "tokens_revoked": set(),
}


def test_manifest_validates_against_slacks_schema():
    jsonschema.validate(MANIFEST, SCHEMA)


def test_slash_command_with_usage_hint_and_escaping():
    [command] = MANIFEST["features"]["slash_commands"]
    assert command["command"] == "/bik-customer"
    assert "bik:" in command["usage_hint"] and command["should_escape"] is True
    assert command["url"].endswith("/slack/events")
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["settings"]["interactivity"]["request_url"] == command["url"]


def test_scopes_are_exactly_what_the_code_calls():
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    needed = {"commands"}.union(*METHOD_SCOPES.values(), *EVENT_SCOPES.values())
    assert scopes == needed


def test_every_web_api_method_in_the_code_is_accounted_for():
    source = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    source += "\n".join(p.read_text() for p in (ROOT / "handlers").rglob("*.py"))
    called = set(re.findall(r'_call\("([a-z]+\.[a-zA-Z.]+)"', source))
    called |= {
        m.replace("_", ".", 1)
        for m in re.findall(r"\.(views_open|views_update|views_publish|chat_unfurl|auth_test)\(", source)
    }
    assert called, "no Web API calls found: the pattern needs updating"
    assert called <= set(METHOD_SCOPES), called - set(METHOD_SCOPES)


def test_shortcuts_home_tab_events_and_unfurl_domain_match_the_code():
    from bot import views
    from handlers import shortcuts

    features = MANIFEST["features"]
    kinds = {s["callback_id"]: s["type"] for s in features["shortcuts"]}
    assert kinds == {shortcuts.CALLBACK_MESSAGE: "message", shortcuts.CALLBACK_GLOBAL: "global"}
    assert features["app_home"]["home_tab_enabled"] is True
    assert set(MANIFEST["settings"]["event_subscriptions"]["bot_events"]) == set(EVENT_SCOPES)
    assert MANIFEST["settings"]["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert features["unfurl_domains"] == ["bik-dashboard.example.com"]  # the placeholder the README names
    assert views.CALLBACK_LOOKUP  # the modals' own callback ids need no manifest entry


def test_distribution_mode_asks_at_install_for_the_manifests_scopes_and_returns_to_its_route():
    from bot.config import DEFAULT_SCOPES
    from bot.distribution import InstallFlow  # noqa: F401 - the flow the redirect URL leads to

    assert set(DEFAULT_SCOPES.split(",")) == set(MANIFEST["oauth_config"]["scopes"]["bot"])
    [redirect] = MANIFEST["oauth_config"]["redirect_urls"]
    assert redirect.endswith("/slack/oauth_redirect")  # Bolt's default redirect_uri_path, served by bot.app
