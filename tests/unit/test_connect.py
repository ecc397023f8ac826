"""The trial lookup that decides whether a workspace's BIK credentials are saved (SPEC 11), with BIK
swapped by httpx.MockTransport: what each answer means, and what the reason shows an admin."""

from __future__ import annotations

import asyncio
import base64
import json
import unicodedata

import httpx
import pytest
from pydantic import SecretStr

import bot.logs
from bot.connect import MAX_REASON, TRIAL_ID, TrialResult, TrialThrottle, connect, trial_lookup
from bot.credentials import BikCredentials, CredentialBox
from bot.db import create_engine, upgrade
from bot.workspaces import UnknownWorkspace, WorkspaceStore

BASE = "http://bik.test/integrations"
TOKEN = "tok-9f8e7d6c5b4a3921"
KEY, SECRET = "key-0a1b2c3d4e5f", "sec-ZYXWVUTSRQ"
BY_TOKEN = BikCredentials(token=SecretStr(TOKEN))
BY_KEY = BikCredentials(key=SecretStr(KEY), secret=SecretStr(SECRET))
AUTHORIZATION = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
EVERY_SECRET = (TOKEN, KEY, SECRET, AUTHORIZATION)


def bik(*responses):
    """An HTTP client whose BIK answers ``responses`` in turn (the last one repeats); the requests it saw."""
    seen = []

    async def handler(request):
        seen.append(request)
        item = responses[min(len(seen), len(responses)) - 1]
        if isinstance(item, Exception):
            raise item
        if callable(item):
            return await item()
        return item

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), seen


def refusal(status, message):
    return httpx.Response(status, json={"status": status, "errors": [{"message": message}]})


async def trial(*responses, credentials=BY_KEY, bound=2.0):
    http, seen = bik(*responses)
    async with http:
        result = await trial_lookup(http, BASE, credentials, bound)
    return result, seen


def assert_shows_no_secret(result: TrialResult):
    for value in EVERY_SECRET:
        assert value not in result.reason


async def test_not_found_means_bik_accepted_the_credentials():
    result, [request] = await trial(refusal(406, "Customer not found"))
    assert result.accepted and result.outcome == "accepted" and not result.saved
    assert str(request.url) == f"{BASE}/bikPlatformFunctions-customers/get"
    assert json.loads(request.content)["partnerCustomerId"] == TRIAL_ID
    assert request.headers["authorization"] == f"Basic {AUTHORIZATION}"
    assert result.reason == "BIK accepted the credentials (API key ending 4e5f)."
    assert result.hint == "4e5f"
    assert_shows_no_secret(result)


async def test_a_token_is_sent_as_it_is_and_only_its_end_is_shown():
    result, [request] = await trial(refusal(406, "Customer not found"), credentials=BY_TOKEN)
    assert request.headers["authorization"] == f"Basic {TOKEN}"
    assert result.accepted and "token ending 3921" in result.reason


def test_a_token_that_is_not_ascii_is_refused_before_anything_is_tried():
    # A header carries ASCII: a token pasted with typographic characters never reaches the trial.
    with pytest.raises(ValueError, match="ASCII"):
        BikCredentials(token=SecretStr("tökén-from-a-pdf"))


async def test_a_customer_with_the_trial_id_also_means_accepted():
    found = httpx.Response(200, json={"status": 200, "success": True, "data": {"id": 1, "firstName": "A"}})
    result, _ = await trial(found)
    assert result.accepted


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_carry_bik_own_reason(status):
    result, seen = await trial(refusal(status, "API key revoked by the store owner"))
    assert not result.accepted and result.outcome == "unauthorized" and not result.transient
    said = "“API key revoked by the store owner”"
    assert result.reason == f"BIK refused these credentials (HTTP {status}): {said}"
    assert len(seen) == 1  # a refusal is not retried


async def test_a_refusal_inside_a_200_answer_is_a_refusal_too():
    body = {"status": 401, "success": False, "errors": [{"message": "Invalid signature"}]}
    result, _ = await trial(httpx.Response(200, json=body))
    assert not result.accepted and result.outcome == "unauthorized"
    assert "“Invalid signature”" in result.reason


async def test_a_refusal_without_a_reason_says_what_to_check():
    result, _ = await trial(httpx.Response(401))
    assert not result.accepted
    assert result.reason == (
        "BIK refused these credentials (HTTP 401). Check the API key and secret, or the token."
    )


@pytest.mark.parametrize("echoed", [TOKEN, f"Basic {TOKEN}"])
async def test_a_credential_bik_echoes_back_is_redacted(echoed):
    result, _ = await trial(refusal(401, f"token {echoed} is revoked"), credentials=BY_TOKEN)
    assert TOKEN not in result.reason
    assert "[redacted] is revoked" in result.reason


async def test_every_part_of_a_key_pair_is_redacted():
    message = f"key {KEY} with secret {SECRET} (Basic {AUTHORIZATION}) is not valid"
    result, _ = await trial(refusal(401, message))
    assert_shows_no_secret(result)
    assert result.reason.count("[redacted]") == 3


async def test_an_echo_cut_short_by_the_client_is_redacted_too():
    long_token = "T" + "x" * 400
    result, _ = await trial(
        refusal(401, "no such token: " + long_token), credentials=BikCredentials(token=SecretStr(long_token))
    )
    assert "xxxx" not in result.reason and "[redacted]" in result.reason


async def test_bik_words_are_dropped_when_a_short_value_appears_in_them():
    short = BikCredentials(key=SecretStr("ab1"), secret=SecretStr("zz9"))
    result, _ = await trial(refusal(401, "key ab1 unknown"), credentials=short)
    assert "ab1" not in result.reason
    assert result.reason.startswith("BIK refused these credentials (HTTP 401). Check")


async def test_bik_reason_is_made_one_safe_bounded_line():
    hostile = "bad\nkey\x1b[31m \u202eoverride\u202c " + "w" * 1000
    result, _ = await trial(refusal(401, hostile))
    assert len(result.reason) <= MAX_REASON
    assert result.reason.endswith("…”") or result.reason.endswith("…")
    for ch in result.reason:
        assert unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"), repr(ch)
    assert "bad key [31m override" in result.reason


async def test_a_rejected_trial_is_not_accepted_and_says_why():
    result, _ = await trial(refusal(400, "'partnerCustomerId' is not allowed"))
    assert not result.accepted and result.outcome == "rejected"
    assert "“'partnerCustomerId' is not allowed”" in result.reason


async def test_bik_failing_is_worth_trying_again():
    result, seen = await trial(refusal(503, "down"))
    assert not result.accepted and result.outcome == "unavailable" and result.transient
    assert result.reason == "BIK is unavailable right now (HTTP 503). Try again in a minute."
    assert len(seen) == 3  # the client's retries


async def test_no_connection_is_worth_trying_again():
    result, _ = await trial(httpx.ConnectError("refused"))
    assert result.outcome == "unavailable" and result.transient
    assert result.reason == "BIK is unavailable right now (no connection). Try again in a minute."


async def test_no_answer_in_time_is_worth_trying_again():
    async def slow():
        await asyncio.sleep(5)
        return refusal(406, "late")

    result, _ = await trial(slow, bound=0.2)
    assert result.outcome == "timeout" and result.transient
    assert result.reason == "BIK did not answer within 0.2 s. Try again in a minute."


async def test_a_wrong_address_is_for_the_operator():
    result, _ = await trial(httpx.Response(404, text="<html>nope</html>"))
    assert result.outcome == "wrong_address" and not result.transient
    assert "BIK_API_BASE_URL" in result.reason


async def test_an_unreadable_answer_is_not_accepted():
    result, _ = await trial(httpx.Response(200, text="<html>login</html>"))
    assert not result.accepted and result.outcome == "unexpected"
    assert "Try again" in result.reason and "<html>" not in result.reason


@pytest.fixture
async def store(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    await upgrade(engine)
    yield WorkspaceStore(engine, CredentialBox([CredentialBox.new_key()]))
    await engine.dispose()


async def test_connect_saves_only_what_bik_accepted(store):
    http, _ = bik(refusal(406, "Customer not found"))
    async with http:
        result = await connect(store, http, BASE, "T0SHOP", BY_KEY, "U0ADMIN", 2.0)
    assert result.accepted and result.saved
    connection = await store.connection("T0SHOP")
    assert connection is not None and connection.hint == "4e5f" and connection.connected_by == "U0ADMIN"
    assert await store.bik_credentials("T0SHOP") == BY_KEY


async def test_connect_saves_nothing_when_bik_refuses(store):
    http, _ = bik(refusal(401, "Unauthorized"))
    async with http:
        result = await connect(store, http, BASE, "T0SHOP", BY_TOKEN, "U0ADMIN", 2.0)
    assert not result.accepted and not result.saved
    assert await store.connection("T0SHOP") is None
    assert await store.history("T0SHOP") == []


async def test_a_refusal_keeps_the_credentials_already_saved(store):
    await store.connect_bik("T0SHOP", BY_KEY, actor="U0ADMIN")
    http, _ = bik(refusal(401, "Unauthorized"))
    async with http:
        result = await connect(store, http, BASE, "T0SHOP", BY_TOKEN, "U0OTHER", 2.0)
    assert not result.saved
    assert await store.bik_credentials("T0SHOP") == BY_KEY


async def test_connect_refuses_a_malformed_workspace_before_asking_bik(store):
    http, seen = bik(refusal(406, "Customer not found"))
    async with http:
        with pytest.raises(UnknownWorkspace):
            await connect(store, http, BASE, "not-a-team", BY_KEY, "U0ADMIN", 2.0)
    assert seen == []


async def test_the_home_tab_saves_only_while_the_app_is_installed(store):
    """``require_installed``: BIK accepted them, but the workspace has no bot (uninstalled during the
    trial): nothing is saved, and the admin is told why. The CLI may connect before the install."""
    http, _ = bik(refusal(406, "Customer not found"))
    async with http:
        home = await connect(store, http, BASE, "T0SHOP", BY_TOKEN, "U0ADMIN", 2.0, require_installed=True)
        cli = await connect(store, http, BASE, "T0OTHER", BY_TOKEN, "cli", 2.0)
    assert (home.accepted, home.saved, home.outcome) == (False, False, "not_installed")
    assert "uninstalled" in home.reason and TOKEN not in home.reason
    assert await store.connection("T0SHOP") is None and await store.history("T0SHOP") == []
    assert cli.saved and await store.bik_credentials("T0OTHER") == BY_TOKEN


async def test_only_accepted_credentials_join_the_process_wide_log_scrubber(store, monkeypatch):
    """A refused value is never registered: it would be blanked out of every tenant's log lines (an
    admin typing another workspace's id as a "token"). Accepted ones are, before they are saved."""
    monkeypatch.setattr(bot.logs, "_secrets", [])
    monkeypatch.setattr(bot.logs, "_by_prefix", {})
    refused = BikCredentials(token=SecretStr("T0ALPHA0001"))
    http, _ = bik(refusal(401, "Unauthorized"), refusal(406, "Customer not found"))
    async with http:
        await connect(store, http, BASE, "T0SHOP", refused, "U0ADMIN", 2.0)
        assert bot.logs._secrets == []
        await connect(store, http, BASE, "T0SHOP", BY_KEY, "U0ADMIN", 2.0)
    assert set(EVERY_SECRET) - {TOKEN} <= set(bot.logs._secrets)


async def test_trials_are_budgeted_per_person_and_per_workspace():
    trials = TrialThrottle("2/minute")
    assert [await trials.spend("T0A", "U1") for _ in range(2)] == [None, None]
    mine = await trials.spend("T0B", "U1")  # the same person in another workspace
    assert mine is not None and mine.startswith("You've tried BIK credentials 2 times in the last minute")
    assert await trials.spend("T0B", "U2") is None  # U1's refused try cost T0B nothing
    theirs = await trials.spend("T0A", "U3")  # another person, but T0A spent its 2 (U1's)
    assert theirs is not None and theirs.startswith("This workspace has tried")
    assert "Try again in 1 minute." in theirs and len(theirs) <= MAX_REASON
