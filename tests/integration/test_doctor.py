"""`python -m bot doctor` against the stand-ins: plain words for what works and what doesn't."""

from __future__ import annotations

from tests.fakes import bik as b
from tests.fakes.botserver import BIK_TOKEN, BOT_TOKEN
from tests.fakes.process import stand_in_env
from tests.integration.test_cli import run


def env(bik, slack, tmp_path, **extra):
    return stand_in_env(bik, slack, tmp_path, **extra)


def test_doctor_all_good(bik, slack, tmp_path):
    result = run("doctor", env=env(bik, slack, tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok    configuration" in result.stdout
    assert "ok    access policy" in result.stdout and "allows 1 channel" in result.stdout
    assert "ok    Slack: token works for team Test Team" in result.stdout
    assert "ok    BIK" in result.stdout and "credentials accepted" in result.stdout
    assert BIK_TOKEN not in result.stdout and BOT_TOKEN not in result.stdout


def test_doctor_with_a_probe_customer(bik, slack, tmp_path):
    result = run("doctor", "--probe", "abcd-122345", env=env(bik, slack, tmp_path), cwd=tmp_path)
    assert result.returncode == 0 and "partner:abcd-122345 found" in result.stdout


def test_doctor_names_each_problem(bik, slack, tmp_path):
    slack.auth_error = "invalid_auth"
    bik.script("*", b.status(401))
    absent = str(tmp_path / "absent.toml")
    result = run("doctor", env=env(bik, slack, tmp_path, BIK_ACCESS_POLICY=absent), cwd=tmp_path)
    assert result.returncode == 1
    assert "FAIL  Slack: auth.test failed: check SLACK_BOT_TOKEN" in result.stdout
    assert "FAIL  BIK: credentials rejected: fix BIK_API_TOKEN" in result.stdout
    assert "FAIL  access policy" in result.stdout and "every channel is denied" in result.stdout


def test_doctor_reports_missing_configuration(tmp_path):
    result = run("doctor", cwd=tmp_path)
    assert (
        result.returncode == 1
        and "FAIL  configuration" in result.stdout
        and "SLACK_BOT_TOKEN" in result.stdout
    )


def test_doctor_never_passes_the_sandbox_for_bik(bik, slack, tmp_path):
    result = run("doctor", env=env(bik, slack, tmp_path, BIK_SANDBOX="true"), cwd=tmp_path)
    assert result.returncode == 1
    assert "FAIL  BIK: BIK_SANDBOX is on" in result.stdout
