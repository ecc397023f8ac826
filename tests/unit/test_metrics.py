"""The metric families of SPEC 10: names, bounded labels, and the alert rules that use them."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from bot.metrics import ACK_KINDS, OUTCOMES, REASONS, REPLY_PATHS, SURFACES, Metrics

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = {
    "bik_lookups_total",
    "bik_api_request_duration_seconds",
    "bik_api_retries_total",
    "slack_ack_duration_seconds",
    "slack_replies_total",
    "bik_policy_decisions_total",
    "bik_lookups_in_flight",
    "bik_policy_reloads_total",
}


def exposition(metrics: Metrics) -> str:
    return metrics.exposition()[0].decode()


def test_every_family_of_the_spec_is_exported_from_the_start():
    text = exposition(Metrics(CollectorRegistry()))
    exported = set(re.findall(r"^# TYPE (\w+) ", text, re.MULTILINE))
    exported |= {f"{name}_total" for name in exported}
    assert exported >= FAMILIES


@given(st.text(max_size=40), st.text(max_size=40))
def test_a_label_value_outside_its_set_is_counted_as_other(surface, outcome):
    metrics = Metrics(CollectorRegistry())
    metrics.lookup(surface, outcome)
    metrics.decision(False, outcome)
    metrics.ack(surface, 0.1)
    values = set(re.findall(r'="([^"]*)"', exposition(metrics)))
    allowed = {"other", "ok", "failed", "allowed", "denied", "unchanged", "error"}
    allowed |= SURFACES | OUTCOMES | REASONS | ACK_KINDS | REPLY_PATHS
    buckets = {v for v in values if re.fullmatch(r"[0-9.e+]+|\+Inf", v)}
    assert values - buckets <= allowed


def test_in_flight_goes_up_and_back_down():
    metrics = Metrics(CollectorRegistry())
    with metrics.in_flight.track_inprogress():
        assert "bik_lookups_in_flight 1.0" in exposition(metrics)
    assert "bik_lookups_in_flight 0.0" in exposition(metrics)


def test_the_alert_rules_use_only_exported_metrics():
    rules = yaml.safe_load((ROOT / "docs" / "prometheus-rules.yml").read_text())["groups"][0]["rules"]
    assert {r["alert"] for r in rules} == {
        "BikLookupErrorRateHigh",
        "SlackAckLatencyNearDeadline",
        "BikPolicyReloadFailed",
    }
    text = exposition(Metrics(CollectorRegistry()))
    for rule in rules:
        for name in re.findall(r"\b((?:bik|slack)_[a-z_]+)", rule["expr"]):
            assert re.search(rf"^{name}[{{ ]", text, re.MULTILINE), f"{rule['alert']}: {name} is not exported"
