"""The command line as an operator uses it: real processes, real output."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

from tests.fakes import bik as b
from tests.fakes.botserver import BIK_TOKEN

ROOT = Path(__file__).resolve().parents[2]
BUILDER = "https://app.slack.com/block-kit-builder/#"


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BIK_", "REDIS_URL"))}
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **(env or {})},
        cwd=cwd or ROOT,
        check=False,
    )


def test_help_lists_the_commands():
    result = run("--help")
    assert result.returncode == 0
    for word in ("serve", "preview", "policy", "doctor"):
        assert word in result.stdout


def test_preview_of_the_sandbox_example_prints_the_card_and_a_builder_link(tmp_path):
    result = run("preview", "--sandbox", "abcd-122345", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Test Last" in out and "BIK id:      5482636" in out and "hsr layout" in out
    link = next(
        line for line in out.splitlines() if line.startswith("https://app.slack.com/block-kit-builder/#")
    )
    payload = json.loads(unquote(link.split("#", 1)[1]))
    assert payload["blocks"][0]["text"]["text"] == "Test Last"
    assert result.stderr == ""


def test_preview_as_a_shared_channel_under_the_policy_masks(tmp_path):
    (tmp_path / "access.toml").write_text('[channels.CSHARED1]\nallow = true\nreply = "in_channel"\n')
    result = run(
        "preview", "--sandbox", "--channel", "CSHARED1", "--shared", "--json", "abcd-122345", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    message = json.loads(result.stdout)
    text = json.dumps(message)
    assert "+919090909090" not in text and "test.2@bik.ai" not in text and "hsr layout" not in text
    assert "+91******9090" in text and "t***@bik.ai" in text


UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
HOSTILE = "x\x1b[31my\x1b]0;title\x07z\u202eq"


def builder_payload(stdout: str) -> str:
    link = next(line for line in stdout.splitlines() if line.startswith(BUILDER))
    return unquote(link.split("#", 1)[1])


def test_preview_prints_no_control_character_of_a_query_raw(tmp_path):
    result = run("preview", "--sandbox", HOSTILE, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert UNSAFE.search(result.stdout) is None
    # The bad id is echoed in the reply itself as visible escapes (what Slack would show too).
    visible = r"x\u001b[31my\u001b]0;title\u0007z\u202eq"
    assert visible in result.stdout
    as_json = run("preview", "--sandbox", "--json", HOSTILE, cwd=tmp_path)
    assert UNSAFE.search(as_json.stdout) is None
    text = json.loads(as_json.stdout)["text"]
    assert visible in text and HOSTILE not in text


def test_preview_of_a_hostile_bik_record_is_terminal_safe(bik, tmp_path):
    hostile_name = "Ra\x1b]0;pwned\x07vi \u202eevil\u202c محمد"
    record = {
        "id": 777,
        "partnerCustomerId": "evil-1",
        "firstName": hostile_name,
        "lastName": "\x1b[2J\x9b31m",
        "addresses": [{"address1": "\u2066x\u2069 " + HOSTILE, "city": "東京", "isDefault": "true"}],
        "tags": [HOSTILE],
    }
    bik.script("evil-1", b.customer(record), b.customer(record))
    env = {"BIK_API_BASE_URL": bik.base_url, "BIK_API_TOKEN": BIK_TOKEN}
    for extra in ((), ("--json",)):
        result = run("preview", *extra, "evil-1", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert UNSAFE.search(result.stdout + result.stderr) is None
        assert "محمد" in result.stdout and "東京" in result.stdout


POLICY = """
[defaults]
allow = false

[channels.C0SUPPORT1]
allow = true

[channels.C0MERCHANT]
allow = true
mask = ["phone", "email"]
"""


def test_preview_without_a_channel_masks_every_field_the_policy_masks(tmp_path):
    (tmp_path / "access.toml").write_text(POLICY)
    result = run("preview", "--sandbox", "abcd-122345", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    payload = builder_payload(result.stdout)
    for text in (result.stdout, payload):
        assert "+919090909090" not in text and "test.2@bik.ai" not in text
        assert "+91******9090" in text and "t***@bik.ai" in text
        assert "hsr layout" in text  # the policy masks no address anywhere
    assert "Masked: email, phone (every field that a rule in access.toml masks" in result.stdout
    as_json = run("preview", "--sandbox", "--json", "abcd-122345", cwd=tmp_path).stdout
    assert "+919090909090" not in as_json and "+91******9090" in as_json


def test_preview_as_a_channel_shows_what_its_rule_shows(tmp_path):
    (tmp_path / "access.toml").write_text(POLICY)
    full = run("preview", "--sandbox", "--channel", "C0SUPPORT1", "abcd-122345", cwd=tmp_path)
    assert full.returncode == 0, full.stderr
    assert "+919090909090" in builder_payload(full.stdout)
    assert "Masked: nothing (the rule for C0SUPPORT1 in access.toml)." in full.stdout
    merchant = run("preview", "--sandbox", "--channel", "C0MERCHANT", "abcd-122345", cwd=tmp_path)
    assert "+919090909090" not in merchant.stdout + builder_payload(merchant.stdout)


def test_missing_configuration_stops_with_one_line(tmp_path):
    result = run("serve", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "SLACK_BOT_TOKEN" in result.stderr


def test_broken_policy_stops_serve_naming_file_and_key(tmp_path):
    (tmp_path / "access.toml").write_text('[channels.C1X]\nmask = ["phones"]\n')
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "BIK_API_TOKEN": "t"}
    result = run("serve", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "access.toml" in result.stderr and "channels.C1X.mask[0]" in result.stderr


def test_policy_check_prints_each_channel(tmp_path):
    (tmp_path / "access.toml").write_text('[channels.C1X]\nallow = true\nmask = ["phone"]\n')
    result = run("policy", "check", cwd=tmp_path)
    assert result.returncode == 0
    assert "C1X" in result.stdout and "masks phone" in result.stdout
    missing = run("policy", "check", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
