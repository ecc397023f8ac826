"""The use case: parse, check access, rate-limit, fetch, mask, render, audit (SPEC section 3).

It speaks plain Python: the Slack listeners in ``handlers/`` turn payloads into :class:`Asker`
and messages back into acks and posts. A command goes through two steps:

1. :meth:`LookupService.start` — fast and bounded: help, invalid input, access and rate limit are
   decided here, so they can be answered inside the acknowledgement, and a refused command makes no
   BIK call;
2. :meth:`LookupService.complete` — the BIK calls (concurrently), masking and rendering. It never
   raises: whatever BIK does, it returns the one final message.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from bot import cards
from bot.access import Decision, Facts, Policy, Reach, Rule, decide, reach
from bot.audit import Audit
from bot.bik.client import BikClient, Fetched
from bot.bik.errors import BikError, NotConnected, NotFound, Unexpected
from bot.bik.models import Customer
from bot.cards import Failed, Found, Message, Result, View
from bot.coalesce import TtlCache
from bot.logs import current_ref, get_logger
from bot.masking import CONTACTS, mask_customer, mask_text
from bot.metrics import METRICS
from bot.query import HelpRequest, Kind, Query, QueryError, parse_command, parse_query
from bot.recent import Recent, RecentLookups

log = get_logger("bik.lookup")


# -- ports: what the use case needs from the outside ------------------------------------------------


class DirectoryUnavailable(Exception):
    """Slack could not be asked about a user or a user group."""


class Directory(Protocol):
    """Slack facts about channels and people. Implementations cache and bound every call."""

    async def channel_is_shared(self, channel_id: str) -> bool:
        """True for Slack Connect channels, and whenever Slack cannot be asked."""
        ...

    async def user_is_guest(self, user_id: str) -> bool: ...

    async def user_home(self, user_id: str) -> tuple[str | None, str | None]:
        """The person's own workspace and Enterprise Grid org (``users.info``)."""
        ...

    async def usergroup_members(self, group_id: str) -> frozenset[str]: ...


class RateLimiter(Protocol):
    capacity: int
    """The most lookups the budget allows in one window."""
    per: str
    """The window in words ("per minute")."""

    async def try_spend(self, user_key: str, cost: int) -> float | None:
        """Spend ``cost`` lookups; None when allowed, else seconds until the user may retry."""
        ...

    async def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen within a window longer than a signature lives."""
        ...


class OpenDirectory:
    """No Slack facts: nobody is a guest, nothing is shared. For the terminal preview only."""

    async def channel_is_shared(self, channel_id: str) -> bool:
        return False

    async def user_is_guest(self, user_id: str) -> bool:
        return False

    async def user_home(self, user_id: str) -> tuple[str | None, str | None]:
        return None, None

    async def usergroup_members(self, group_id: str) -> frozenset[str]:
        return frozenset()


# -- values ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asks, from where. Filled from the slash command or the interaction payload."""

    team_id: str
    channel_id: str
    user_id: str
    channel_name: str | None = None
    user_team_id: str | None = None
    """The asker's own workspace (``user.team_id``); in a Slack Connect channel it can be another
    organisation's."""
    enterprise_id: str | None = None
    """The asker's Enterprise Grid org, when the payload names one."""


@dataclass(slots=True)
class Installation:
    """Where the bot is installed: filled from ``auth.test`` at start-up. Until it is known, the
    payload's installing team stands in (``view.app_installed_team_id`` or ``team.id``)."""

    team_id: str | None = None
    enterprise_id: str | None = None

    @property
    def org_wide(self) -> bool:
        """An org-wide (Enterprise Grid) install: the org is "us", not one workspace."""
        return self.team_id is None and self.enterprise_id is not None

    def is_external(self, asker: Asker) -> bool:
        """True for a person of another organisation (Slack Connect): their workspace is neither ours
        nor one of our Grid org's. For an org-wide install the payload cannot tell (its ``enterprise``
        is the one that chose the installation): :meth:`LookupService.is_external` asks Slack."""
        theirs = asker.user_team_id
        if not theirs:
            return False
        if self.enterprise_id and asker.enterprise_id == self.enterprise_id:
            return False  # another workspace of the same Enterprise Grid org
        return theirs != (self.team_id or asker.team_id)


@dataclass(frozen=True, slots=True)
class Immediate:
    """Answered at once, inside the acknowledgement: help, invalid input, a denial, a throttle."""

    message: Message


@dataclass(frozen=True, slots=True)
class Accepted:
    asker: Asker
    queries: tuple[Query, ...]
    rule: Rule
    view: View
    policy_version: str = "none"
    surface: str = "command"


Started = Immediate | Accepted

NOT_CONNECTED = (
    ":electric_plug: BIK isn't connected in this workspace yet. A workspace admin can connect it "
    "from this app's *Home* tab."
)

_EXTERNAL = (
    "People outside the organisation that installed this app can't look customers up here; "
    "they see what the channel sees."
)


@dataclass(frozen=True, slots=True)
class Home:
    """The App Home's facts for one person; ``reach`` is None when Slack could not be asked."""

    reach: Reach | None
    recent: list[Recent]
    recent_enabled: bool


@dataclass(frozen=True, slots=True)
class Permit:
    """An interaction's verdict: the query to run and what to mask, or (``query`` None) a refusal
    whose ``decision.message`` says why."""

    decision: Decision
    query: Query | None
    masked: frozenset[str]

    @classmethod
    def refuse(cls, rule: Rule, message: str, reason: str = "invalid") -> Permit:
        return cls(Decision(False, reason, rule, message), None, frozenset())


@dataclass(frozen=True, slots=True)
class Answer:
    """What BIK said for one query: the customer or the error, and how hard it was to get."""

    fetched: Fetched | None
    error: BikError | None
    attempts: int
    fallback: bool
    """A bare digits id that no partner had, tried again as a BIK id."""
    found_by: Query | None = None
    """The query that found the customer (the BIK id after a fallback): what buttons must carry."""


# -- the service -----------------------------------------------------------------------------------

Services = Callable[[], "LookupService"]
"""How a listener finds the lookup service of the request's workspace: always the same one in
single-workspace mode, the request's tenant's in distribution mode (:mod:`bot.tenants`)."""


class LookupService:
    def __init__(
        self,
        *,
        bik: BikClient | None,
        policy: Policy,
        directory: Directory,
        limiter: RateLimiter | None = None,
        dashboard_url: str | None = None,
        audit: Audit | None = None,
        installation: Installation | None = None,
        recent: RecentLookups | None = None,
        clock: Callable[[], float] = time.monotonic,
        workspace: str = "",
    ) -> None:
        """``bik`` None: BIK not connected yet (distribution mode), every lookup says so. ``workspace``:
        the installation's key (distribution mode), part of every rate-limit, recent-lookup and
        audit key, so nothing of one workspace is counted or shown in another."""
        self._bik = bik
        self.workspace = workspace
        self.policy = policy
        self.directory = directory
        self.limiter = limiter
        self.dashboard_url = dashboard_url
        self.audit = audit or Audit()
        self.installation = installation or Installation()
        self.recent = recent or RecentLookups(limit=0)
        self._clock = clock
        # Concurrent lookups of the same id share one BIK call (single flight, nothing cached).
        # Requests with different masking never share one, by design: what is shared is the raw
        # answer, masked afterwards per request, and keeping audiences apart keeps it that way.
        self._inflight: TtlCache[Fetched] = TtlCache(ttl=0)

    @property
    def bik(self) -> BikClient:
        if self._bik is None:
            raise NotConnected("BIK is not connected in this workspace")
        return self._bik

    @property
    def connected(self) -> bool:
        return self._bik is not None

    async def _fetch(self, query: Query, masked: frozenset[str], *, budget: float | None = None) -> Fetched:
        key = (query.kind, query.value, masked)
        bik = self.bik
        return await self._inflight.get(key, lambda: bik.get_customer(query, budget=budget))

    def _not_connected(self, asker: Asker, surface: str, queries: int = 1) -> Immediate:
        self._audit(asker, surface=surface, outcome="not_connected", queries=queries)
        return Immediate(cards.text_message(NOT_CONNECTED))

    # step 1 ---------------------------------------------------------------------------------------

    async def start(self, asker: Asker, text: str | None) -> Started:
        try:
            command = parse_command(text)
        except QueryError as exc:
            self._audit(asker, outcome="invalid")
            return Immediate(cards.invalid_message(exc.message))
        if isinstance(command, HelpRequest):
            return Immediate(cards.help_message())

        return await self.admit(asker, command.queries, surface="command")

    async def admit(
        self,
        asker: Asker,
        queries: tuple[Query, ...],
        *,
        surface: str,
        private: bool | None = None,
        direct_messages_rule: bool = False,
        share_button: bool | None = None,
        charge: bool = True,
    ) -> Started:
        """May this person look these ids up here, and what may the result show? Every surface asks.

        The rule is the channel's (or, for a modal that has no channel, ``[direct_messages]``:
        ``direct_messages_rule``). ``private``: the result is seen by the asker alone (a modal, an
        ephemeral reply); ``None``: as the rule's ``reply`` says. A result the whole channel reads is
        masked as such (Slack Connect included). A refusal is answered at once (:class:`Immediate`)
        and makes no BIK call; an admission has spent one lookup per id of the person's budget
        (``charge=False``: already spent by the same request, e.g. a modal that also posts). A refusal
        is also kept in the person's recent lookups, with its outcome.
        """
        if self._bik is None:
            return self._not_connected(asker, surface, len(queries))
        policy = self.policy  # read once: a reload mid-request never mixes two policies
        rule = (
            policy.direct_messages
            if direct_messages_rule
            else policy.rule_for(asker.channel_id, asker.channel_name)
        )
        visible_to_channel = (rule.reply == "in_channel") if private is None else not private
        # Access facts and the Slack Connect check are independent: ask Slack for both at once.
        decision, shared = await asyncio.gather(
            self.check_access(
                asker, command=True, policy=policy, rule=rule if direct_messages_rule else None
            ),
            self._is_shared(asker.channel_id, needed=rule.allow and visible_to_channel),
        )
        if not decision.allowed:
            self._audit(
                asker,
                surface=surface,
                outcome="denied",
                reason=decision.reason,
                queries=len(queries),
                policy_version=policy.version,
            )
            await self._remember(asker, queries, "denied", surface)
            return Immediate(cards.text_message(":no_entry_sign: " + decision.message))

        throttled = await self._throttle(asker, cost=len(queries), surface=surface) if charge else None
        if throttled is not None:
            await self._remember(asker, queries, "rate_limited", surface)
            return throttled

        view = View(
            requester_id=asker.user_id,
            response_type="in_channel" if visible_to_channel else "ephemeral",
            share_button=(rule.share and not visible_to_channel) if share_button is None else share_button,
            dashboard_url=self.dashboard_url,
            masked=rule.mask_for(visible_to_channel=visible_to_channel, channel_shared=shared),
            fetched_at=datetime.now(UTC),
        )
        return Accepted(asker, queries, rule, view, policy.version, surface)

    async def _is_shared(self, channel_id: str, *, needed: bool) -> bool:
        return await self.directory.channel_is_shared(channel_id) if needed else False

    async def is_external(self, asker: Asker) -> bool:
        """Is this person of another organisation (Slack Connect)? The payload's ``user.team_id``
        decides for a workspace install; Slack is asked (``users.info``, cached) where the payload
        cannot tell: an org-wide install (its ``enterprise`` is the field that chose it), or an event
        that names no workspace for the person (``link_shared``). Slack not answering: external."""
        installation = self.installation
        if not installation.org_wide and asker.user_team_id:
            return installation.is_external(asker)
        try:
            team_id, enterprise_id = await self.directory.user_home(asker.user_id)
        except DirectoryUnavailable:
            return True
        if installation.org_wide:
            return enterprise_id != installation.enterprise_id
        if team_id is None:
            return False  # Slack named no workspace (a stand-in directory): nothing says "outside"
        return installation.is_external(
            dataclasses.replace(
                asker, user_team_id=team_id, enterprise_id=enterprise_id or asker.enterprise_id
            )
        )

    async def check_access(
        self,
        asker: Asker,
        *,
        command: bool = False,
        policy: Policy | None = None,
        rule: Rule | None = None,
    ) -> Decision:
        """The policy decision for this asker here (counted by decision and reason). ``rule``: decide
        under this rule instead of the channel's (a modal's ``[direct_messages]``)."""
        decision = await self._decide(asker, command, policy or self.policy, rule)
        METRICS.decision(decision.allowed, decision.reason)
        return decision

    async def _decide(self, asker: Asker, command: bool, policy: Policy, given: Rule | None) -> Decision:
        """Slack is asked only what the rule needs."""
        rule = given or policy.rule_for(asker.channel_id, asker.channel_name)
        if not asker.user_id or (given is None and not asker.channel_id):
            # Never let [defaults] decide for a request that names no channel or no user.
            return Decision(
                False, "incomplete_request", rule, "This request came without a channel or a user."
            )
        if command and await self.is_external(asker):
            # Slack lets only the installing organisation run commands; one that claims otherwise
            # is refused rather than trusted.
            return Decision(False, "external_user", rule, _EXTERNAL)
        if not rule.allow:
            return decide(policy, rule, channel_id=asker.channel_id, user_id=asker.user_id, facts=Facts())
        try:
            facts = await self._facts(rule, asker.user_id)
        except DirectoryUnavailable:
            return Decision(
                False,
                "slack_unavailable",
                rule,
                "Slack didn't answer when the bot checked who may look customers up here. Try again.",
            )
        return decide(policy, rule, channel_id=asker.channel_id, user_id=asker.user_id, facts=facts)

    async def _facts(self, rule: Rule, user_id: str) -> Facts:
        async def guest() -> bool:
            return False if rule.guests else await self.directory.user_is_guest(user_id)

        async def groups() -> frozenset[str]:
            if not rule.usergroups or user_id in rule.users:
                return frozenset()
            wanted = sorted(rule.usergroups)
            members = await asyncio.gather(*(self.directory.usergroup_members(g) for g in wanted))
            return frozenset(g for g, m in zip(wanted, members, strict=True) if user_id in m)

        is_guest, user_groups = await asyncio.gather(guest(), groups())
        return Facts(user_is_guest=is_guest, user_groups=user_groups)

    async def _throttle(self, asker: Asker, *, cost: int, surface: str = "command") -> Immediate | None:
        if self.limiter is None:
            return None
        message = await self.spend(asker, cost)
        if message is None:
            return None
        self._audit(asker, surface=surface, outcome="rate_limited", queries=cost)
        return Immediate(cards.text_message(message))

    async def spend(self, asker: Asker, cost: int) -> str | None:
        """Spend ``cost`` lookups of this person's budget: None when allowed, else what to tell them.

        Keyed by the user id (``U…``/``W…``), in distribution mode within the installation's workspace:
        never by a payload's team id, which must not buy a fresh budget."""
        if self.limiter is None:
            return None
        capacity = self.limiter.capacity
        if cost > capacity:
            return (
                f":stopwatch: That's {cost} lookups at once; you may make at most {capacity} "
                f"{self.limiter.per}. Ask for fewer ids."
            )
        key = f"{self.workspace}:{asker.user_id}" if self.workspace else asker.user_id
        retry_after = await self.limiter.try_spend(key, cost)
        if retry_after is None:
            return None
        wait = max(1, round(retry_after))
        return f":stopwatch: You've reached your limit of customer lookups for now. Try again in {wait} s."

    # step 2 ---------------------------------------------------------------------------------------

    async def results(self, accepted: Accepted) -> list[Result]:
        """Fetch every query concurrently: one result per query, masked, audited. Never raises."""
        return list(await asyncio.gather(*(self._one(accepted, q) for q in accepted.queries)))

    async def complete(self, accepted: Accepted) -> Message:
        """Fetch every query concurrently and render the one final reply. Never raises."""
        results = await self.results(accepted)
        try:
            return cards.lookup_message(results, accepted.view)
        except Exception:
            log.exception("render_failed", queries=len(results))
            return cards.text_message(":warning: The bot could not show this customer. The error is logged.")

    async def answer(self, query: Query, masked: frozenset[str]) -> Answer:
        """BIK's answer for one query, trying a bare digits id once as a BIK id when no partner id
        matches, within one time bound. Never raises: an error is in the answer."""
        with METRICS.in_flight.track_inprogress():
            return await self._answer(query, masked)

    async def _answer(self, query: Query, masked: frozenset[str]) -> Answer:
        started = self._clock()
        attempts, fallback = 0, False
        try:
            try:
                fetched = await self._fetch(query, masked)
            except NotFound as exc:
                if not query.digits_fallback:
                    raise
                attempts, fallback = exc.attempts, True
                remaining = self.bik.timeout - (self._clock() - started)
                fetched = await self._fetch(query.as_bik(), masked, budget=remaining)
            return Answer(
                fetched, None, attempts + fetched.attempts, fallback, query.as_bik() if fallback else query
            )
        except BikError as exc:
            return Answer(None, exc, attempts + exc.attempts, fallback)
        except Exception as exc:  # a bug or a pathological answer is still one answer
            log.exception("lookup_crashed", query_kind=query.kind.value)
            return Answer(None, Unexpected(type(exc).__name__), attempts, fallback)

    async def _one(self, accepted: Accepted, query: Query) -> Result:
        started = self._clock()
        masked = accepted.view.masked
        answer = Answer(None, None, 0, False)
        result: Result
        try:
            answer = await self.answer(query, masked)
            if answer.fetched is not None:
                result = Found(answer.found_by or query, mask_customer(answer.fetched.customer, masked))
                status: int | None = answer.fetched.status
                outcome = "found"
            else:
                assert answer.error is not None
                result = Failed(query, answer.error, tried_bik_too=answer.fallback, ref=current_ref())
                status, outcome = answer.error.status, answer.error.kind
                self._log_failure(answer.error)
        except Exception as exc:
            log.exception("lookup_crashed", query_kind=query.kind.value)
            result = Failed(query, Unexpected(type(exc).__name__), ref=current_ref())
            status, outcome = None, "error"
        self._audit(
            accepted.asker,
            query=query,
            outcome=outcome,
            reason="allowed",
            masked=masked,
            visibility=accepted.view.response_type,
            bik_status=status,
            latency_ms=round((self._clock() - started) * 1000, 1),
            retries=max(0, answer.attempts - 1),
            fallback=answer.fallback or None,
            policy_version=accepted.policy_version,
            surface=accepted.surface,
        )
        found = answer.fetched.customer if answer.fetched is not None else None
        await self._remember(accepted.asker, (query,), outcome, accepted.surface, found)
        return result

    async def _remember(
        self,
        asker: Asker,
        queries: tuple[Query, ...],
        outcome: str,
        surface: str,
        found: Customer | None = None,
    ) -> None:
        """The Home tab's recent lookups: ids and outcomes only, never customer data. A partner id
        that looks like a phone or an email is contact data: the found customer's BIK id is kept
        instead, or nothing."""
        for query in queries:
            kept: Query | None = query
            if query.kind is Kind.PARTNER and mask_text(query.value, CONTACTS) != query.value:
                bik_id = found.id if found is not None else None
                kept = Query(Kind.BIK, bik_id) if bik_id and bik_id.isdigit() else None
            if kept is not None:
                await self.recent.record(
                    self.workspace or asker.team_id, asker.user_id, str(kept), outcome, surface
                )

    def _log_failure(self, exc: BikError) -> None:
        if exc.admin_fix:
            url = self._bik.url if self._bik is not None else None
            log.error(
                "bik_needs_admin", kind=exc.kind, status=exc.status, url=url, workspace=self.workspace or None
            )
        elif exc.kind in ("unexpected", "unavailable", "timeout"):
            log.warning("bik_failed", kind=exc.kind, status=exc.status, detail=exc.detail)

    # interactions ---------------------------------------------------------------------------------

    async def authorize_interaction(
        self, asker: Asker, value: str, *, surface: str, private: bool, direct_messages_rule: bool = False
    ) -> Permit:
        """Re-check everything for whoever clicked, where they clicked, before any BIK call.

        The button's value is only a query (``partner:abc``), parsed again like typed input; the
        customer is then fetched from BIK again (:meth:`answer`), never taken from the payload.
        ``private``: the result is seen by the clicker alone (a modal opened from an ephemeral card);
        otherwise — a card the whole channel reads, or a person of another organisation clicking —
        it is masked as anything the whole channel reads. Each click spends one lookup of the
        clicker's budget. ``direct_messages_rule``: a click in a modal that has no channel (the
        global shortcut's, the Home tab's) is decided under ``[direct_messages]``.
        """
        try:
            query = parse_query(value)
        except QueryError:
            self._audit(asker, surface=surface, outcome="invalid")
            return Permit.refuse(self.policy.defaults, "That button is no longer valid.")
        if self._bik is None:
            self._audit(asker, surface=surface, query=query, outcome="not_connected")
            return Permit.refuse(self.policy.defaults, NOT_CONNECTED, reason="not_connected")
        external = await self.is_external(asker)
        if external and not private and surface == "share":
            self._audit(asker, surface=surface, query=query, outcome="denied", reason="external_user")
            return Permit.refuse(self.policy.defaults, _EXTERNAL)
        policy = self.policy
        decision = await self.check_access(
            asker, policy=policy, rule=policy.direct_messages if direct_messages_rule else None
        )
        if not decision.allowed:
            self._audit(asker, surface=surface, query=query, outcome="denied", reason=decision.reason)
            return Permit(decision, None, frozenset())
        throttled = await self.spend(asker, 1)
        if throttled is not None:
            self._audit(asker, surface=surface, query=query, outcome="rate_limited")
            return Permit(Decision(False, "rate_limited", decision.rule, throttled), None, frozenset())
        for_channel = not private or external
        shared = await self._is_shared(asker.channel_id, needed=for_channel)
        masked = decision.rule.mask_for(visible_to_channel=for_channel, channel_shared=shared)
        return Permit(decision, query, masked)

    async def rerun(self, asker: Asker, value: str, *, surface: str, private: bool) -> Started:
        """Refresh or Try again: the button's value is the message's queries, parsed again like typed
        input, and admitted again for whoever clicks where they click (:meth:`admit`)."""
        try:
            command = parse_command(value)
        except QueryError:
            command = HelpRequest()
        if isinstance(command, HelpRequest):
            self._audit(asker, surface=surface, outcome="invalid")
            return Immediate(cards.text_message(":no_entry_sign: That button is no longer valid."))
        rule = self.policy.rule_for(asker.channel_id, asker.channel_name)
        if not private and not (rule.reply == "in_channel" or rule.share):
            # Fresh data for the whole channel only where the channel may still read cards.
            self._audit(asker, surface=surface, outcome="denied", reason="share_not_allowed")
            return Immediate(
                cards.text_message(":no_entry_sign: This channel no longer shows customer cards to everyone.")
            )
        return await self.admit(asker, command.queries, surface=surface, private=private)

    async def admit_unfurl(self, asker: Asker, queries: tuple[Query, ...]) -> Accepted | None:
        """Link unfurling (SPEC 9.3): only where the poster may look customers up and the channel's
        rule unfurls, masked as anything the whole channel reads. None: nothing may be posted (the
        decision is audited)."""
        rule = self.policy.rule_for(asker.channel_id, asker.channel_name)
        if self._bik is None:
            self._audit(asker, surface="unfurl", outcome="not_connected", queries=len(queries))
            return None
        if not asker.channel_id or asker.channel_id == "COMPOSER" or not rule.unfurl:
            reason = "unfurl_off" if asker.channel_id and asker.channel_id != "COMPOSER" else "composer"
            self._audit(asker, surface="unfurl", outcome="denied", reason=reason, queries=len(queries))
            return None
        if await self.is_external(asker):
            # A person of another organisation posting links in a shared channel may not make this
            # installation look its customers up, as they may not run the command (SPEC 9.3).
            self._audit(
                asker, surface="unfurl", outcome="denied", reason="external_user", queries=len(queries)
            )
            return None
        started = await self.admit(asker, queries, surface="unfurl", private=False, share_button=False)
        return started if isinstance(started, Accepted) else None

    async def home(self, asker: Asker) -> Home:
        """What the App Home shows this person (SPEC 9.4): where the policy lets them run the
        command, and their recent lookups (ids only)."""
        policy = self.policy
        groups = sorted(
            {
                g
                for rule in (policy.defaults, policy.direct_messages, *policy.channels.values())
                for g in rule.usergroups
            }
        )
        try:
            is_guest, members = await asyncio.gather(
                self.directory.user_is_guest(asker.user_id),
                asyncio.gather(*(self.directory.usergroup_members(g) for g in groups)),
            )
        except DirectoryUnavailable:
            return Home(
                reach=None,
                recent=await self.recent.list(self.workspace or asker.team_id, asker.user_id),
                recent_enabled=self.recent.enabled,
            )
        facts = Facts(
            user_is_guest=is_guest,
            user_groups=frozenset(g for g, m in zip(groups, members, strict=True) if asker.user_id in m),
        )
        return Home(
            reach=reach(policy, asker.user_id, facts),
            recent=await self.recent.list(self.workspace or asker.team_id, asker.user_id),
            recent_enabled=self.recent.enabled,
        )

    async def first_time(self, key: str) -> bool:
        """Has this interaction (a signed request replayed within Slack's 5 minutes carries the same
        key) not been seen before? Everything that posts for the channel asks first."""
        return True if self.limiter is None else await self.limiter.first_time(key)

    # audit ----------------------------------------------------------------------------------------

    def audit_interaction(
        self,
        asker: Asker,
        query: Query,
        *,
        outcome: str,
        masked: frozenset[str] = frozenset(),
        reason: str = "allowed",
        surface: str = "share",
    ) -> None:
        visibility = "in_channel" if surface == "share" else "ephemeral"
        self._audit(
            asker,
            query=query,
            surface=surface,
            outcome=outcome,
            reason=reason,
            masked=masked,
            visibility=visibility,
        )

    def _audit(
        self,
        asker: Asker,
        *,
        query: Query | None = None,
        surface: str = "command",
        policy_version: str | None = None,
        **fields: Any,
    ) -> None:
        """The audit line (SPEC 8), counted in ``bik_lookups_total`` by surface and outcome."""
        METRICS.lookup(surface, str(fields.get("outcome")))
        self.audit.record(
            surface=surface,
            policy_version=policy_version or self.policy.version,
            workspace=self.workspace or None,
            team=asker.team_id,
            channel=asker.channel_id,
            user=asker.user_id,
            query_kind=query.kind.value if query else None,
            query_id=query.value if query else None,
            **fields,
        )
