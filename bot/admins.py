"""Who may change a workspace's BIK connection and policy (SPEC 11): its admins and owners, asked of
Slack at every step — the Home tab's render, every click, every submission — never remembered from an
earlier step and never read from the payload alone.

:func:`verdict` is the decision, pure: ``users.info`` (asked with the workspace's *own* bot token)
must say ``is_admin`` or ``is_owner`` — for an org-wide install ``enterprise_user.is_admin`` /
``is_owner`` / ``is_primary_owner`` instead: an admin of one workspace inside the org is not an
admin of an install that serves every workspace of it. The person must belong to the installation:
``user.team_id`` is the installing workspace (an org-wide install: ``enterprise_user.enterprise_id``
is its org). The payload's own ``user.team_id`` (and ``enterprise``) must name the installation too:
a person of another organisation, met in a Slack Connect channel, is never an admin here, whatever
their own org made them. Guests, bots and deactivated accounts never are.

:class:`AdminCheck` asks Slack, bounded by :data:`CHECK_SECONDS` (the check runs inside Slack's
3-second acknowledgement of a submission), and caches nothing: a demoted admin loses the Home tab's
powers with their next click. Slack not answering is a refusal that says to try again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.logs import get_logger

log = get_logger("bik.admins")

CHECK_SECONDS = 1.5
"""``users.info`` is given this long; past it the person is not treated as an admin."""

NOT_ADMIN = "Only this workspace's admins and owners can change the BIK connection and the access policy."
NOT_ORG_ADMIN = (
    "This app is installed for the whole organisation: only the organisation's admins and owners can "
    "change its BIK connection and access policy (an admin of one workspace can't)."
)
SLACK_SILENT = "Slack didn't answer when asked whether you are an admin; try again."


@dataclass(frozen=True, slots=True)
class Installation:
    """The installation a request is for (:class:`bot.tenants.Tenant`'s ids)."""

    key: str
    team_id: str | None
    enterprise_id: str | None
    org_wide: bool


@dataclass(frozen=True, slots=True)
class Verdict:
    admin: bool
    reason: str
    """``admin``, ``owner``, or why not: ``not_admin``, ``other_workspace``, ``guest``, ``bot``,
    ``deleted``, ``slack_unavailable``, ``no_user``."""
    message: str = ""
    """What to tell the person when ``admin`` is false."""

    @property
    def retry(self) -> bool:
        """Slack did not answer: the same click may work in a moment."""
        return self.reason == "slack_unavailable"


def _truthy(value: Any) -> bool:
    return value is True


def payload_names_installation(
    installation: Installation, *, user_team_id: str | None, enterprise_id: str | None
) -> bool:
    """Does the payload place the person inside the installation? ``user.team_id`` of a workspace
    install must be that workspace; an org-wide install's ``enterprise.id``, when sent, its org."""
    if installation.org_wide:
        return not enterprise_id or enterprise_id == installation.enterprise_id
    return not user_team_id or user_team_id == installation.team_id


def verdict(
    installation: Installation,
    user: dict[str, Any],
    *,
    user_team_id: str | None,
    enterprise_id: str | None = None,
) -> Verdict:
    """Is the person ``users.info`` described (``user``, the answer's ``user`` object) an admin or
    owner of ``installation``? ``user_team_id`` and ``enterprise_id`` are what the payload says of
    them (``user.team_id``, ``enterprise.id``)."""
    if not payload_names_installation(installation, user_team_id=user_team_id, enterprise_id=enterprise_id):
        return Verdict(False, "other_workspace", _OTHER_ORG)
    if not user:
        return Verdict(False, "no_user", NOT_ADMIN)
    if _truthy(user.get("deleted")):
        return Verdict(False, "deleted", NOT_ADMIN)
    if _truthy(user.get("is_bot")) or user.get("id") == "USLACKBOT":
        return Verdict(False, "bot", NOT_ADMIN)
    if _truthy(user.get("is_restricted")) or _truthy(user.get("is_ultra_restricted")):
        return Verdict(False, "guest", NOT_ADMIN)
    enterprise_user = user.get("enterprise_user") if isinstance(user.get("enterprise_user"), dict) else {}
    assert isinstance(enterprise_user, dict)
    if installation.org_wide:
        if (
            not installation.enterprise_id
            or enterprise_user.get("enterprise_id") != installation.enterprise_id
        ):
            return Verdict(False, "other_workspace", _OTHER_ORG)
        # The org's own admins and owners only: ``user.is_admin`` / ``is_owner`` describe the person in
        # one workspace of the org, whose admin does not administer an install serving every workspace.
        owner = _truthy(enterprise_user.get("is_owner")) or _truthy(enterprise_user.get("is_primary_owner"))
        admin = _truthy(enterprise_user.get("is_admin"))
    else:
        if not installation.team_id or user.get("team_id") != installation.team_id:
            return Verdict(False, "other_workspace", _OTHER_ORG)
        owner = _truthy(user.get("is_owner"))
        admin = _truthy(user.get("is_admin"))
    if owner:
        return Verdict(True, "owner")
    if admin:
        return Verdict(True, "admin")
    return Verdict(False, "not_admin", NOT_ORG_ADMIN if installation.org_wide else NOT_ADMIN)


_OTHER_ORG = (
    "Only admins and owners of the workspace that installed this app can change its BIK connection "
    "and access policy."
)


class AdminCheck:
    """Asks Slack whether a person is an admin of the request's installation (:func:`verdict`)."""

    def __init__(self, *, timeout: float = CHECK_SECONDS) -> None:
        self._timeout = timeout

    async def check(
        self,
        client: AsyncWebClient,
        installation: Installation,
        user_id: str,
        *,
        user_team_id: str | None,
        enterprise_id: str | None = None,
    ) -> Verdict:
        """``users.info`` for ``user_id`` with the installation's own ``client`` (its bot token)."""
        if not payload_names_installation(
            installation, user_team_id=user_team_id, enterprise_id=enterprise_id
        ):
            # Refused without asking Slack: the payload itself says this is someone else's person.
            return Verdict(False, "other_workspace", _OTHER_ORG)
        if not user_id:
            return Verdict(False, "no_user", NOT_ADMIN)
        try:
            response = await asyncio.wait_for(client.users_info(user=user_id), self._timeout)
            data = response.data if isinstance(response.data, dict) else {}
        except Exception as exc:  # noqa: BLE001 - Slack down, slow or refusing: not an admin, say why
            error = getattr(getattr(exc, "response", None), "data", None)
            code = error.get("error") if isinstance(error, dict) else None
            if code in ("user_not_found", "user_not_visible"):
                return Verdict(False, "no_user", NOT_ADMIN)
            log.warning("admin_check_failed", workspace=installation.key, error=code or type(exc).__name__)
            return Verdict(False, "slack_unavailable", SLACK_SILENT)
        if not data.get("ok"):
            log.warning("admin_check_failed", workspace=installation.key, error=str(data.get("error")))
            return Verdict(False, "slack_unavailable", SLACK_SILENT)
        user = data.get("user")
        found = verdict(
            installation,
            user if isinstance(user, dict) else {},
            user_team_id=user_team_id,
            enterprise_id=enterprise_id,
        )
        return found
