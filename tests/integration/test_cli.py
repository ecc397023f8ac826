"""The command line as an operator uses it: real processes, real output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[2]


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
