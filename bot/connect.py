"""Connecting a workspace to BIK (SPEC 11): try the credentials with one lookup, save them only if BIK
accepted them. Plain Python, shared by the Home tab and ``python -m bot workspace connect``.

The trial looks up a partner id that cannot exist (:data:`TRIAL_ID`) at the deployment's own BIK
address: *not found* means BIK accepted the credentials (so does a customer, should one ever have
that id); everything else is a refusal, with a one-line reason fit to show a workspace admin —
BIK's own words when it refused the credentials and gave a reason, or what to do next.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import httpx

from bot.bik.client import BikClient
from bot.bik.errors import BikError, NotFound, Rejected, TimedOut, Unauthorized, Unavailable, WrongAddress
from bot.bik.models import sanitise
from bot.credentials import BikCredentials
from bot.logs import get_logger, register_secrets
from bot.query import Kind, Query
from bot.ratelimit import UserRateLimiter
from bot.workspaces import NotInstalled, WorkspaceStore, check_key

log = get_logger("bik.connect")

TRIAL_ID = "bik-slack-connection-check"
"""The partner id the trial looks up; no store uses it (the doctor's probe is its sibling)."""
MAX_REASON = 200
"""The longest reason shown; BIK's own words are cut to fit inside it."""
NOT_INSTALLED = "The app was uninstalled from this workspace meanwhile: the credentials were not saved."
TRIALS_RATE = "5/10 minutes"
"""Connect BIK trials allowed per person, and per workspace (``limits`` syntax): plenty to fix a typo,
too few to use the deployment as a checker of stolen BIK credentials."""
_BIK_WORDS = 150
_REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class TrialResult:
    """What the trial lookup (and :func:`connect`) made of a set of credentials.

    ``reason`` is one line of plain text (not escaped for mrkdwn: escape it where it is rendered),
    at most :data:`MAX_REASON` characters, never containing the credentials. ``outcome`` is
    ``"accepted"``, ``"malformed"`` (a token that is not ASCII: never sent), ``"not_installed"``
    (BIK accepted them but the app was uninstalled meanwhile: not saved), or the
    :class:`~bot.bik.errors.BikError` kind (``unauthorized``, ``rejected``, ``unavailable``,
    ``timeout``, ``wrong_address``, ``unexpected``); ``hint`` is what may be shown
    of the credentials (the last 4 characters of the token or key, or nothing).
    """

    accepted: bool
    reason: str
    outcome: str
    hint: str
    saved: bool = False

    @property
    def transient(self) -> bool:
        """Worth trying again unchanged in a minute (BIK unavailable or slow), not the credentials' fault."""
        return self.outcome in ("unavailable", "timeout")


async def trial_lookup(
    http: httpx.AsyncClient,
    base_url: str,
    credentials: BikCredentials,
    timeout: float,  # noqa: ASYNC109 - BikClient's bound on the whole lookup, retries included
) -> TrialResult:
    """Look up :data:`TRIAL_ID` at ``base_url`` with ``credentials``, within ``timeout`` seconds
    (retries of a 5xx or a failed connection included). Never raises a BIK failure: it is the result."""
    if not credentials.authorization.get_secret_value().isascii():  # httpx could not even send it
        reason = (
            "A BIK token is plain ASCII (letters, digits, symbols); this one is not. Check what was pasted."
        )
        return TrialResult(False, reason, "malformed", credentials.hint)
    client = BikClient(http=http, base_url=base_url, authorization=credentials.authorization, timeout=timeout)
    try:
        await client.get_customer(Query(Kind.PARTNER, TRIAL_ID))
    except NotFound:
        pass
    except BikError as exc:
        return TrialResult(False, _refusal(exc, credentials, timeout), exc.kind, credentials.hint)
    accepted = f"BIK accepted the credentials ({_shown(credentials)})."
    return TrialResult(True, accepted, "accepted", credentials.hint)


async def connect(
    store: WorkspaceStore,
    http: httpx.AsyncClient,
    base_url: str,
    workspace: str,
    credentials: BikCredentials,
    actor: str,
    timeout: float,  # noqa: ASYNC109 - the trial lookup's bound, as above
    *,
    require_installed: bool = False,
) -> TrialResult:
    """Try ``credentials`` (:func:`trial_lookup`) and, only when BIK accepted them, store them for
    ``workspace`` (sealed, with a change row naming ``actor``). ``saved`` says whether they were.
    A malformed workspace id raises :class:`bot.workspaces.UnknownWorkspace` before BIK is asked.

    ``require_installed`` (the Home tab): saved only if the app is still installed in the workspace
    when the trial ends — an uninstall during a slow trial leaves no credentials behind (outcome
    ``not_installed``). The CLI may connect a workspace before the app is installed there."""
    check_key(workspace)
    result = await trial_lookup(http, base_url, credentials, timeout)
    if result.accepted:
        # Registered with the process-wide log scrubber only now that BIK has accepted them (before the
        # save: from now on every lookup reads them). A refused value never is: anyone who may connect
        # could otherwise blank any string (another workspace's id) out of every tenant's log lines.
        register_secrets(credentials.secrets())
        try:
            await store.connect_bik(workspace, credentials, actor=actor, require_installed=require_installed)
            result = replace(result, saved=True)
        except NotInstalled:
            result = TrialResult(False, NOT_INSTALLED, "not_installed", credentials.hint)
    log.info("bik_connect", workspace=workspace, actor=actor, outcome=result.outcome, saved=result.saved)
    return result


class TrialThrottle:
    """The budget of Connect BIK trials from the Home tab: every trial is a BIK call from the
    deployment's address with whatever was typed, so each person, and each workspace, may make
    :data:`TRIALS_RATE`. A sliding window from ``limits``, as the lookup budget
    (:class:`bot.ratelimit.UserRateLimiter`): in memory, or shared by every process through Redis."""

    def __init__(self, rate: str = TRIALS_RATE, *, redis_url: str | None = None) -> None:
        self._limiter = UserRateLimiter(rate, redis_url=redis_url)

    @property
    def capacity(self) -> int:
        return self._limiter.capacity

    @property
    def per(self) -> str:
        return self._limiter.per

    async def spend(self, workspace: str, user_id: str) -> str | None:
        """Spend one trial of the person's and the workspace's budgets: None when allowed, else
        what to tell the admin (nothing was sent to BIK)."""
        if (wait := await self._limiter.try_spend(f"bik-trial/user/{user_id}", 1)) is not None:
            whose = "You've"
        elif (wait := await self._limiter.try_spend(f"bik-trial/workspace/{workspace}", 1)) is not None:
            whose = "This workspace has"
        else:
            return None
        minutes = max(1, -(-round(wait) // 60))
        later = f"{minutes} minute" + ("s" if minutes > 1 else "")
        window = self.per.removeprefix("every ").removeprefix("per ")
        return (
            f"{whose} tried BIK credentials {self.capacity} times in the last {window}, the most "
            f"allowed: nothing was sent to BIK this time. Try again in {later}."
        )


def _shown(credentials: BikCredentials) -> str:
    what = "token" if credentials.kind == "token" else "API key"
    return f"{what} ending {credentials.hint}" if credentials.hint else what


def _refusal(error: BikError, credentials: BikCredentials, timeout: float) -> str:
    if isinstance(error, Unauthorized):
        words = _bik_words(error.detail, credentials)
        code = f"HTTP {error.status}" if error.status else "refused"
        if words:
            return _fit(f"BIK refused these credentials ({code}): “{words}”")
        return f"BIK refused these credentials ({code}). Check the API key and secret, or the token."
    if isinstance(error, Rejected):
        words = _bik_words(error.detail, credentials)
        said = f": “{words}”" if words else ""
        return _fit(f"BIK rejected the trial lookup{said}. Check the credentials, then try again.")
    if isinstance(error, TimedOut):
        return f"BIK did not answer within {timeout:g} s. Try again in a minute."
    if isinstance(error, Unavailable):
        code = f" (HTTP {error.status})" if error.status else " (no connection)"
        return f"BIK is unavailable right now{code}. Try again in a minute."
    if isinstance(error, WrongAddress):
        return "BIK answered 404 at the bot's BIK address: the bot's operator must check BIK_API_BASE_URL."
    return (
        "BIK's answer was not what its documentation describes. Try again; if it keeps happening, "
        "the bot's operator should check BIK_API_BASE_URL."
    )


def _bik_words(detail: str, credentials: BikCredentials) -> str:
    """BIK's own reason, made safe to show: one line, no control or bidi characters, no credential
    (a value BIK echoes back is redacted; when a value too short to redact safely appears, BIK's
    words are dropped), cut to :data:`_BIK_WORDS` characters."""
    words = " ".join(sanitise(detail).split())
    for value in sorted(set(credentials.secrets()), key=len, reverse=True):
        if value in words:
            if len(value) < 6:
                return ""
            words = words.replace(value, _REDACTED)
        # The client keeps the first 300 characters of BIK's message: an echo may be cut short.
        for end in range(len(value) - 1, 3, -1):
            if words.endswith(value[:end]):
                words = words[:-end] + _REDACTED
                break
    return words if len(words) <= _BIK_WORDS else words[: _BIK_WORDS - 1] + "…"


def _fit(reason: str) -> str:
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"
