"""Masking by content over real HTTP (security review finding 8): in a Slack Connect channel, where
an in_channel reply is masked in all three fields, nothing that looks like a phone or an email
reaches the reply, its fallback text, its buttons or the audit line, wherever BIK put it."""

from __future__ import annotations

import json

import pytest

from tests.fakes import bik as b

POLICY = """
[defaults]
allow = false

[channels.CPUBLIC]
allow = true
reply = "in_channel"
"""

PHONE_ID = "+919090909090"
PHONE = ["+919090909090", "919090909090", "9090909090"]
EMAIL = ["priya.k@example.org", "priya.k", "test.2@bik.ai", "test.2"]


def leaks(text: str) -> list[str]:
    return [value for value in (*PHONE, *EMAIL) if value in text]


def customer() -> dict[str, object]:
    """A store that uses phone numbers as its customer ids, and an email typed into a tag."""
    return {
        "id": 5482699,
        "partnerCustomerId": PHONE_ID,
        "firstName": "Priya",
        "lastName": "K",
        "phoneNumber": PHONE_ID,
        "email": "test.2@bik.ai",
        "tags": ["vip", "size 42", "alt email priya.k@example.org"],
        # Seven addresses: the card shows five and offers the rest with a button.
        "addresses": [{"address1": f"Apt {i}", "city": "Pune", "isDefault": i == 1} for i in range(1, 8)],
    }


@pytest.fixture
def bot(start_bot, slack):
    slack.shared_channels.add("CPUBLIC")
    return start_bot(POLICY)


def test_a_phone_used_as_partner_id_and_an_email_in_a_tag_appear_nowhere(bot, bik, slack, logs):
    _, client = bot
    bik.script(PHONE_ID, b.customer(customer()))
    message = client.command(PHONE_ID, channel="CPUBLIC", response_url=slack.new_hook()).json()
    assert message["response_type"] == "in_channel"
    whole = json.dumps(message)
    assert leaks(whole) == []
    assert leaks(message["text"]) == []
    assert "*Partner id*\\n+91******9090" in whole and "p***@example.org" in whole
    assert "size 42" in whole and "Pune" in whole  # what is no contact still shows
    values = [e["value"] for blk in message["blocks"] if blk["type"] == "actions" for e in blk["elements"]]
    assert values == ["bik:5482699"] * 2  # Show all, Refresh: BIK's id, not the phone typed
    [audit] = logs.events("lookup")
    assert audit["query_id"] == "+91******9090" and audit["outcome"] == "found"
    assert leaks(logs.text) == []


def test_a_phone_typed_as_an_id_that_bik_does_not_know_is_masked_in_the_error(bot, bik, slack, logs):
    _, client = bot
    bik.script(PHONE_ID, b.status(406, {"status": 406, "errors": [{"message": "Customer not found"}]}))
    message = client.command(PHONE_ID, channel="CPUBLIC", response_url=slack.new_hook()).json()
    assert "No customer with partner id `+91******9090`" in message["blocks"][0]["text"]["text"]
    assert leaks(json.dumps(message)) == [] and leaks(logs.text) == []


def test_biks_own_message_is_not_posted_verbatim_in_a_shared_channel(bot, bik, slack, logs):
    _, client = bot
    said = "phone 9090909090 of test.2@bik.ai is not a valid partner id"
    bik.script("abcd-122345", b.status(400, {"status": 400, "errors": [{"message": said}]}))
    message = client.command("abcd-122345", channel="CPUBLIC", response_url=slack.new_hook()).json()
    whole = json.dumps(message)
    assert "BIK rejected the lookup of partner id `abcd-122345`" in message["blocks"][0]["text"]["text"]
    assert "not a valid partner id" not in whole and leaks(whole) == []
    assert leaks(logs.text) == []
