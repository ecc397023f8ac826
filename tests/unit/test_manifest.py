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
    needed = {"commands"}.union(*METHOD_SCOPES.values())
    assert scopes == needed


def test_every_web_api_method_in_the_code_is_accounted_for():
    source = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    source += "\n".join(p.read_text() for p in (ROOT / "handlers").rglob("*.py"))
    called = set(re.findall(r'_call\("([a-z]+\.[a-zA-Z.]+)"', source))
    called |= {m.replace("_", ".", 1) for m in re.findall(r"\.(views_open|views_update|auth_test)\(", source)}
    assert called, "no Web API calls found: the pattern needs updating"
    assert called <= set(METHOD_SCOPES), called - set(METHOD_SCOPES)
