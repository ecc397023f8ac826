"""Installing a workspace into a distribution-mode bot the way a browser does: ``GET /slack/install``
(Bolt sets the state cookie and renders the *Add to Slack* page), then Slack's redirect back to
``GET /slack/oauth_redirect?code=…&state=…`` with that cookie; the bot exchanges the code at the
Slack stand-in's ``oauth.v2.access`` (answers shaped like Slack's, ``"team": null`` for org-wide)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import httpx

from tests.fakes.slack import FakeSlack


@dataclass(frozen=True)
class Installed:
    key: str
    """The workspace key: the team id, or the enterprise id of an org-wide install."""
    token: str
    response: httpx.Response


def install_workspace(
    slack: FakeSlack,
    bot_url: str,
    team_id: str | None,
    team_name: str = "",
    *,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
    org_wide: bool = False,
    installer: str = "UINSTALLER",
    rotation: bool = False,
) -> Installed:
    code, token = slack.register_install(
        team_id,
        team_name,
        enterprise_id=enterprise_id,
        enterprise_name=enterprise_name,
        org_wide=org_wide,
        installer=installer,
        rotation=rotation,
    )
    with httpx.Client(base_url=bot_url, timeout=10, follow_redirects=False) as browser:
        page = browser.get("/slack/install")
        assert page.status_code == 200, page.text
        link = re.search(r'href="([^"]*oauth/v2/authorize[^"]*)"', page.text)
        assert link is not None, page.text
        state = parse_qs(urlparse(html.unescape(link.group(1))).query)["state"][0]
        # Bolt's state cookie is ``Secure``: a browser sends it back over HTTPS; the test's plain
        # loopback HTTP has to hand it over itself.
        cookie = page.headers["set-cookie"].split(";", 1)[0]
        done = browser.get(
            "/slack/oauth_redirect", params={"code": code, "state": state}, headers={"Cookie": cookie}
        )
    key = enterprise_id if org_wide else team_id
    assert key is not None
    return Installed(key=key, token=token, response=done)
