"""The Home tab's admin section (distribution mode, SPEC 11): connect BIK, disconnect it, and edit the
workspace's access policy — one rule at a time, or as TOML. Registered only in distribution mode.

Every step asks Slack again whether the person is an admin or owner of the request's workspace
(:mod:`bot.admins`): the Home render, each click, each submission. Hiding the buttons is a courtesy,
not the check — a forged click or submission is refused the same way, and changes nothing.

Every modal carries the workspace it was opened for in its ``private_metadata`` (``w``); a submission
whose ``w`` is not the request's workspace (a forged or cross-workspace ``view_submission``) is
refused. The policy forms also carry the version they were filled from (``v``): if the stored policy
changed meanwhile, the save is refused rather than overwriting someone else's change.

What is typed into *Connect BIK* is never logged (no log line carries it; once BIK has accepted
it, :mod:`bot.connect` registers it with the process-wide log scrubber — a refused value is not, as
it would then be blanked out of every tenant's log lines), never put back into a view or its
metadata, and never echoed in an error: a refusal shows BIK's reason as :mod:`bot.connect` made it,
which never contains the credentials.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import admin_views as av
from bot import policy_edit, views
from bot.access import Policy, PolicyError
from bot.admins import NOT_ADMIN, AdminCheck, Installation, Verdict
from bot.connect import TrialResult, TrialThrottle, connect
from bot.credentials import MAX_CREDENTIAL_CHARS, BikCredentials
from bot.logs import current_ref, get_logger
from bot.metrics import METRICS
from bot.tasks import TaskTracker
from bot.tenants import Tenant, Tenants
from bot.workspaces import NotInstalled, PolicyChanged, WorkspaceStore
from handlers.events import EventHandlers
from handlers.payload import obj, state_value

log = get_logger("bik.admin")
Ack = Callable[..., Awaitable[Any]]

ACK_BUDGET = 2.0
"""A submission is acknowledged within this many seconds of its arrival (Slack allows 3)."""
OPEN_WITHIN = 3.0
"""A ``trigger_id`` lives 3 s."""
MAX_ERROR = 200
"""An input's error, at most (BIK's reasons from :mod:`bot.connect` are at most 200 characters)."""

OTHER_WORKSPACE = (
    "This form was opened for another workspace, so it can't change this one. Close it and open the "
    "app's Home tab in this workspace."
)
UNINSTALLED = "The app was uninstalled from this workspace meanwhile: the policy was not saved."
CHANGED_MEANWHILE = (
    "The access policy changed since you opened this form. Close it and open it again to edit the "
    "policy as it is now."
)


def _error(text: str) -> str:
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


class AdminHandlers:
    def __init__(
        self,
        *,
        tenants: Tenants,
        home: EventHandlers,
        http: httpx.AsyncClient,
        bik_base_url: str,
        bik_timeout: float,
        tasks: TaskTracker,
        check: AdminCheck | None = None,
        ack_budget: float = ACK_BUDGET,
        trials: TrialThrottle | None = None,
    ) -> None:
        """``home`` publishes the Home tab (the admin section is added through its ``extend_home``);
        ``bik_base_url`` is the deployment's BIK address, the only one a trial lookup may use;
        ``trials`` the budget of Connect BIK trials (shared through Redis when the deployment has it:
        :attr:`bot.distribution.Distribution.trials`; this process's own otherwise)."""
        self._tenants = tenants
        self.home = home
        self._http = http
        self._bik_base_url = bik_base_url
        self._bik_timeout = bik_timeout
        self._tasks = tasks
        self._check = check or AdminCheck()
        self._ack_budget = ack_budget
        self._trials = trials or TrialThrottle()

    @property
    def _store(self) -> WorkspaceStore:
        return self._tenants.store

    # -- who -------------------------------------------------------------------------------------------

    async def _verdict(self, tenant: Tenant, body: dict[str, Any]) -> Verdict:
        """The person behind an interaction, as its payload names them and Slack describes them."""
        user = obj(body, "user")
        return await self._check.check(
            tenant.client,
            _installation(tenant),
            str(user.get("id") or ""),
            user_team_id=user.get("team_id") if isinstance(user.get("team_id"), str) else None,
            enterprise_id=obj(body, "enterprise").get("id") or None,
        )

    def _refused(self, tenant: Tenant | None, body: dict[str, Any], step: str, reason: str) -> None:
        log.warning(
            "admin_refused",
            step=step,
            reason=reason,
            workspace=tenant.key if tenant else None,
            user=obj(body, "user").get("id"),
            user_team=obj(body, "user").get("team_id"),
        )

    # -- the Home tab ----------------------------------------------------------------------------------

    async def extend_home(self, view: dict[str, Any], body: dict[str, Any], user_id: str) -> dict[str, Any]:
        """The admin section for admins and owners; for everyone else, a line while BIK is not
        connected. ``app_home_opened`` names the user only: ``users.info`` decides."""
        tenant = Tenants.current_tenant()
        if tenant is None:
            return view
        verdict = await self._check.check(
            tenant.client, _installation(tenant), user_id, user_team_id=None, enterprise_id=None
        )
        if verdict.admin:
            return av.with_section(view, await self._admin_section(tenant.key))
        if verdict.retry:
            return av.with_section(view, av.unknown_rights_section(connected=tenant.service.connected))
        if not tenant.service.connected:
            return av.with_section(view, av.not_connected_section())
        return view

    async def _admin_section(self, workspace: str) -> list[dict[str, Any]]:
        store = self._store
        connection, stored, history = await asyncio.gather(
            store.connection(workspace), store.policy(workspace), store.history(workspace, limit=5)
        )
        policy: Policy | None = None
        problem: str | None = None
        if stored is not None:
            try:
                policy = Policy.from_toml(stored.document, source="stored")
            except PolicyError as exc:
                problem = policy_edit.policy_problem(str(exc))
        return av.admin_section(
            connection=connection, stored=stored, policy=policy, history=history, problem=problem
        )

    async def republish(
        self, tenant: Tenant, body: dict[str, Any], user_id: str, client: AsyncWebClient
    ) -> None:
        """Publish the person's Home tab again after a change, from the workspace as it is now: this
        process forgets its copy at once (the others within a second, through the change feed)."""
        self._tenants.drop(tenant.key)
        fresh = await self._tenants.get(tenant.enterprise_id, tenant.team_id, tenant.is_enterprise_install)
        Tenants.enter(fresh)  # this task's own context: the request's tenant is left alone
        if fresh is None:
            return
        await self.home.publish_home(body, user_id, client)

    def _republish_soon(
        self, tenant: Tenant, body: dict[str, Any], user_id: str, client: AsyncWebClient
    ) -> None:
        self._tasks.spawn(self.republish(tenant, body, user_id, client), name="admin_home")

    # -- clicks ----------------------------------------------------------------------------------------

    async def clicked(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Any ``admin_*`` button: acknowledged at once; the admin check and the work follow."""
        await ack()
        action = next((a for a in body.get("actions") or [] if isinstance(a, dict)), {})
        action_id = str(action.get("action_id") or "")
        tenant = Tenants.current_tenant()
        if tenant is None or action_id not in av.ACTIONS:
            return
        self._tasks.spawn(self._click(tenant, action_id, body, client), name=action_id)

    async def _click(
        self, tenant: Tenant, action_id: str, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        trigger_id = body.get("trigger_id")
        user_id = str(obj(body, "user").get("id") or "")
        verdict = await self._verdict(tenant, body)
        if not verdict.admin:
            self._refused(tenant, body, action_id, verdict.reason)
            await self._open(client, trigger_id, av.notice_modal("Not allowed", verdict.message or NOT_ADMIN))
            return
        store = self._store
        if action_id == av.ACTION_CONNECT:
            connection = await store.connection(tenant.key)
            await self._open(
                client, trigger_id, av.connect_modal(workspace=tenant.key, replacing=connection is not None)
            )
        elif action_id == av.ACTION_DISCONNECT:
            removed = await store.disconnect_bik(tenant.key, actor=user_id)
            log.info("bik_disconnected", workspace=tenant.key, actor=user_id, removed=removed)
            await self.republish(tenant, body, user_id, client)
        elif action_id == av.ACTION_EDIT_RULE:
            await self._open(client, trigger_id, av.rule_picker_modal(workspace=tenant.key))
        elif action_id == av.ACTION_EDIT_TOML:
            stored = await store.policy(tenant.key)
            view = av.toml_modal(
                workspace=tenant.key,
                document=stored.document if stored else None,
                version=stored.version if stored else "",
            )
            await self._open(client, trigger_id, view)

    # -- submissions: the common guard -----------------------------------------------------------------

    async def _guard(
        self, ack: Ack, body: dict[str, Any], step: str, retry_block: str | None
    ) -> tuple[Tenant, dict[str, str], str] | None:
        """The request's workspace, the view's metadata and the user id when the view was opened for
        this workspace and the person is its admin now; otherwise the submission is acknowledged with
        the refusal (Slack not answering: an error on ``retry_block``, so the form is kept) and None."""
        tenant = Tenants.current_tenant()
        if tenant is None:
            await ack()
            return None
        view = obj(body, "view")
        meta = views.read_metadata(view.get("private_metadata"))
        if meta.get("w") != tenant.key:
            self._refused(tenant, body, step, "other_workspace_view")
            await ack(response_action="update", view=av.notice_modal("Not allowed", OTHER_WORKSPACE))
            return None
        verdict = await self._verdict(tenant, body)
        if not verdict.admin:
            self._refused(tenant, body, step, verdict.reason)
            if verdict.retry and retry_block is not None:
                await ack(response_action="errors", errors={retry_block: verdict.message})
            else:
                await ack(response_action="update", view=av.notice_modal("Not allowed", verdict.message))
            return None
        return tenant, meta, str(obj(body, "user").get("id") or "")

    # -- Connect BIK -----------------------------------------------------------------------------------

    async def connect_submitted(
        self, ack: Ack, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
    ) -> None:
        """*Connect BIK*: admin check, the values' shape, then one trial lookup through
        :func:`bot.connect.connect`, which saves them only when BIK accepted them.

        Slack wants the acknowledgement within 3 s, and the trial may take up to the BIK timeout
        (15 s by default). The trial starts at once and is awaited for what is left of
        :data:`ACK_BUDGET` (2 s from arrival): when it is done by then — as it is whenever BIK is
        healthy — the acknowledgement itself carries the outcome (a refusal as an error on the input,
        the typed values still in place; a success as the "connected" view). When it is not, the
        modal is replaced by a "checking" view in the acknowledgement and the trial runs on in a
        tracked task (never cancelled by the deadline, so a save that BIK accepted is never lost);
        its outcome then replaces that view with ``views.update`` — a refusal as the form again, with
        BIK's reason and empty inputs (the values typed are never sent back to Slack)."""
        received = float(context.get("received_at") or time.monotonic())
        guarded = await self._guard(ack, body, "connect", av.BLOCK_TOKEN)
        if guarded is None:
            return
        tenant, _, user_id = guarded
        view = obj(body, "view")
        credentials, errors = _read_credentials(view)
        if credentials is None:
            await ack(response_action="errors", errors=errors)
            return
        # Not registered with the log scrubber here: that list is process-wide, and a value BIK refuses
        # (another workspace's id, a word of every log line) would be blanked from every tenant's lines.
        # Nothing logs what was typed; bot.connect registers the values once BIK has accepted them.
        block = av.BLOCK_TOKEN if credentials.kind == "token" else av.BLOCK_KEY
        # Every trial is a BIK call from the deployment's address: a budget per person and per
        # workspace, or the Home tab is a checker of stolen BIK credentials.
        throttled = await self._trials.spend(tenant.key, user_id)
        if throttled is not None:
            log.warning("bik_connect_throttled", workspace=tenant.key, actor=user_id)
            await ack(response_action="errors", errors={block: _error(throttled)})
            return
        trial = self._tasks.spawn(
            connect(
                self._store,
                self._http,
                self._bik_base_url,
                tenant.key,
                credentials,
                user_id,
                self._bik_timeout,
                require_installed=True,  # an uninstall during the trial: nothing is saved
            ),
            name="bik_connect",
        )
        left = self._ack_budget - (time.monotonic() - received)
        done, _ = await asyncio.wait({trial}, timeout=max(0.0, left))
        if trial not in done:
            await ack(response_action="update", view=av.checking_modal())
            self._tasks.spawn(
                self._connect_later(
                    trial, credentials.kind, tenant, body, user_id, client, str(view.get("id") or "")
                ),
                name="bik_connect_result",
            )
            return
        result = _result(trial)
        if result is None:
            await ack(response_action="errors", errors={block: _failed_message()})
            return
        if not result.accepted:
            await ack(response_action="errors", errors={block: _error(result.reason)})
            return
        await ack(response_action="update", view=av.connected_modal(credentials.kind, result.hint))
        self._republish_soon(tenant, body, user_id, client)

    async def _connect_later(
        self,
        trial: asyncio.Task[TrialResult],
        kind: str,
        tenant: Tenant,
        body: dict[str, Any],
        user_id: str,
        client: AsyncWebClient,
        view_id: str,
    ) -> None:
        await asyncio.wait({trial})
        result = _result(trial)
        if result is not None and result.accepted:
            await self._update(client, view_id, av.connected_modal(kind, result.hint))
            await self.republish(tenant, body, user_id, client)
            return
        problem = result.reason if result is not None else _failed_message()
        connection = await self._store.connection(tenant.key)
        replacing = connection is not None
        form = av.connect_modal(workspace=tenant.key, replacing=replacing, problem=problem)
        await self._update(client, view_id, form)

    # -- Edit a rule -----------------------------------------------------------------------------------

    async def rule_picked(self, ack: Ack, body: dict[str, Any]) -> None:
        """Step one of *Edit a rule*: which table; the form for it replaces the picker."""
        guarded = await self._guard(ack, body, "rule_pick", av.BLOCK_TARGET)
        if guarded is None:
            return
        tenant, _, _ = guarded
        view = obj(body, "view")
        choice = obj(state_value(view, av.BLOCK_TARGET, av.action_of(av.BLOCK_TARGET)), "selected_option")
        target = str(choice.get("value") or "")
        picked_channel = target == av.TARGET_CHANNEL
        if picked_channel:
            channel = state_value(view, av.BLOCK_CHANNEL, av.action_of(av.BLOCK_CHANNEL)).get(
                "selected_conversation"
            )
            if not isinstance(channel, str) or not channel:
                await ack(
                    response_action="errors",
                    errors={av.BLOCK_CHANNEL: "Pick the channel whose rule to edit."},
                )
                return
            target = channel
        try:
            policy_edit.check_target(target)
        except policy_edit.EditError:
            block = av.BLOCK_CHANNEL if picked_channel else av.BLOCK_TARGET
            message = "Pick a channel (not a direct message)." if picked_channel else "Pick a rule to edit."
            await ack(response_action="errors", errors={block: message})
            return
        stored = await self._store.policy(tenant.key)
        try:
            form = av.rule_modal(
                workspace=tenant.key,
                target=target,
                document=stored.document if stored else None,
                version=stored.version if stored else "",
            )
        except policy_edit.EditError as exc:
            await ack(response_action="errors", errors={av.BLOCK_TARGET: _error(str(exc))})
            return
        await ack(response_action="update", view=form)

    async def rule_saved(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        """*Edit a rule*'s form: the new document (:func:`bot.policy_edit.apply_form`), validated and
        saved like the file, with who changed what."""
        allow_block = av.block_of("allow")
        guarded = await self._guard(ack, body, "rule_save", allow_block)
        if guarded is None:
            return
        tenant, meta, user_id = guarded
        target = meta.get("t", "")
        stored = await self._store.policy(tenant.key)
        if (stored.version if stored else "") != meta.get("v", ""):
            await ack(response_action="errors", errors={allow_block: CHANGED_MEANWHILE})
            return
        document = stored.document if stored else None
        try:
            policy_edit.check_target(target)
            form = _read_rule_form(obj(body, "view"), document, target)
            edit = policy_edit.apply_form(document, target, form)
        except policy_edit.EditError as exc:
            block = _block_for(exc.field)
            await ack(response_action="errors", errors={block: _error(str(exc))})
            return
        if not edit.changed:
            await ack(
                response_action="update",
                view=av.notice_modal("Edit a rule", "Nothing changed: nothing saved."),
            )
            return
        if not await self._save(ack, tenant, edit.document, user_id, edit.summary, allow_block, meta):
            return
        await ack()
        self._republish_soon(tenant, body, user_id, client)

    # -- Edit as TOML ----------------------------------------------------------------------------------

    async def toml_saved(self, ack: Ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        """*Edit as TOML*: the whole document, validated like the file; errors name the key."""
        guarded = await self._guard(ack, body, "toml_save", av.BLOCK_TOML)
        if guarded is None:
            return
        tenant, meta, user_id = guarded
        text = state_value(obj(body, "view"), av.BLOCK_TOML, av.action_of(av.BLOCK_TOML)).get("value")
        text = text if isinstance(text, str) else ""
        if len(text) > av.MAX_TOML:
            await ack(
                response_action="errors",
                errors={av.BLOCK_TOML: f"At most {av.MAX_TOML} characters: use python -m bot policy import."},
            )
            return
        stored = await self._store.policy(tenant.key)
        if (stored.version if stored else "") != meta.get("v", ""):
            await ack(response_action="errors", errors={av.BLOCK_TOML: CHANGED_MEANWHILE})
            return
        if not text.endswith("\n") and text:
            text += "\n"
        try:
            Policy.from_toml(text, source="typed")
        except PolicyError as exc:
            await ack(
                response_action="errors", errors={av.BLOCK_TOML: _error(policy_edit.policy_problem(str(exc)))}
            )
            return
        before = stored.document if stored else ""
        summary = policy_edit.describe_documents(before, text)
        if summary == policy_edit.NO_CHANGE and before.strip() == text.strip():
            await ack(
                response_action="update",
                view=av.notice_modal("Edit as TOML", "Nothing changed: nothing saved."),
            )
            return
        if summary == policy_edit.NO_CHANGE:
            summary = "comments or layout only (same rules)"
        if not await self._save(ack, tenant, text, user_id, "TOML: " + summary, av.BLOCK_TOML, meta):
            return
        await ack()
        self._republish_soon(tenant, body, user_id, client)

    async def _save(
        self,
        ack: Ack,
        tenant: Tenant,
        document: str,
        user_id: str,
        summary: str,
        block: str,
        meta: dict[str, str],
    ) -> bool:
        """Save, only over the version the form was filled from (``v``) and only while the app is
        installed — both checked inside the write, so a save racing another, or an uninstall, is
        refused rather than undoing the other's change or outliving the uninstall."""
        try:
            policy = await self._store.save_policy(
                tenant.key,
                document,
                actor=user_id,
                summary=summary,
                expected_version=meta.get("v", ""),
                require_installed=True,
            )
        except PolicyError as exc:
            await ack(response_action="errors", errors={block: _error(policy_edit.policy_problem(str(exc)))})
            return False
        except PolicyChanged:
            log.info("policy_not_saved", workspace=tenant.key, actor=user_id, reason="changed_meanwhile")
            await ack(response_action="errors", errors={block: CHANGED_MEANWHILE})
            return False
        except NotInstalled:
            log.info("policy_not_saved", workspace=tenant.key, actor=user_id, reason="not_installed")
            await ack(response_action="update", view=av.notice_modal("Not saved", UNINSTALLED))
            return False
        log.info("policy_saved", workspace=tenant.key, actor=user_id, version=policy.version, summary=summary)
        return True

    # -- Slack calls -----------------------------------------------------------------------------------

    async def _open(self, client: AsyncWebClient, trigger_id: Any, view: dict[str, Any]) -> None:
        try:
            await asyncio.wait_for(client.views_open(trigger_id=trigger_id, view=view), OPEN_WITHIN)
            METRICS.reply("views", True)
        except Exception as exc:  # noqa: BLE001 - a late or refused open: logged, nothing else to show
            error = getattr(getattr(exc, "response", None), "data", {}) or {}
            log.warning(
                "views_open_failed",
                error=error.get("error") if isinstance(error, dict) else type(exc).__name__,
            )
            METRICS.reply("views", False)

    async def _update(self, client: AsyncWebClient, view_id: str, view: dict[str, Any]) -> None:
        if not view_id:
            return
        try:
            await client.views_update(view_id=view_id, view=view)
            METRICS.reply("views", True)
        except Exception:
            log.exception("views_update_failed")
            METRICS.reply("views", False)


# -- reading the forms ---------------------------------------------------------------------------------


def _installation(tenant: Tenant) -> Installation:
    return Installation(
        key=tenant.key,
        team_id=tenant.team_id,
        enterprise_id=tenant.enterprise_id,
        org_wide=tenant.is_enterprise_install,
    )


def _typed(view: dict[str, Any], block: str) -> str:
    value = state_value(view, block, av.action_of(block)).get("value")
    return value.strip() if isinstance(value, str) else ""


def _read_credentials(view: dict[str, Any]) -> tuple[BikCredentials | None, dict[str, str]]:
    """The typed token, or key and secret, checked for shape (sizes bounded before anything else);
    errors by input block. Error messages never repeat what was typed."""
    token, key, secret = (_typed(view, b) for b in (av.BLOCK_TOKEN, av.BLOCK_KEY, av.BLOCK_SECRET))
    errors: dict[str, str] = {}
    for block, value in ((av.BLOCK_TOKEN, token), (av.BLOCK_KEY, key), (av.BLOCK_SECRET, secret)):
        if len(value) > MAX_CREDENTIAL_CHARS:
            errors[block] = f"At most {MAX_CREDENTIAL_CHARS} characters."
        elif value and not (value.isprintable() and value.isascii()):
            errors[block] = "Only printable ASCII characters (no line breaks, tabs or curly quotes)."
    if errors:
        return None, errors
    if token and (key or secret):
        return None, {av.BLOCK_TOKEN: "Give a token, or a key and a secret — not both."}
    if not token and not key and not secret:
        return None, {av.BLOCK_TOKEN: "Give BIK's token, or an API key and its secret."}
    if not token:
        if not key:
            return None, {av.BLOCK_KEY: "Give the API key that goes with this secret."}
        if not secret:
            return None, {av.BLOCK_SECRET: "Give the API key's secret."}
    try:
        if token:
            return BikCredentials(token=SecretStr(token)), {}
        return BikCredentials(key=SecretStr(key), secret=SecretStr(secret)), {}
    except ValueError:
        return None, {av.BLOCK_TOKEN: "These don't look like BIK credentials: check what you pasted."}


def _result(task: asyncio.Task[TrialResult]) -> TrialResult | None:
    """The trial's outcome, or None when it failed (the database, most likely: logged by the tracker)."""
    if task.cancelled() or task.exception() is not None:
        return None
    return task.result()


def _failed_message() -> str:
    ref = current_ref()
    return "Something went wrong while saving; nothing was saved. Try again" + (
        f" (ref {ref})." if ref else "."
    )


_FIELD_BLOCKS = {
    "target": av.block_of("allow"),
    "people": av.block_of("people"),
    "remove": av.BLOCK_REMOVE,
}


def _block_for(field: str | None) -> str:
    if field is None:
        return av.block_of("allow")
    return _FIELD_BLOCKS.get(field, av.block_of(field))


def _selected(view: dict[str, Any], key: str) -> str | None:
    block = av.block_of(key)
    option = obj(state_value(view, block, av.action_of(block)), "selected_option")
    value = option.get("value")
    return value if isinstance(value, str) else None


def _ticked(view: dict[str, Any], block: str) -> list[str]:
    options = state_value(view, block, av.action_of(block)).get("selected_options") or []
    return [str(o.get("value")) for o in options if isinstance(o, dict) and isinstance(o.get("value"), str)]


def _read_rule_form(view: dict[str, Any], document: str | None, target: str) -> policy_edit.RuleForm:
    """The submitted *Edit a rule* form as a :class:`~bot.policy_edit.RuleForm` (raises
    :class:`~bot.policy_edit.EditError` naming the field at fault)."""
    if "remove" in _ticked(view, av.BLOCK_REMOVE):
        return policy_edit.RuleForm(remove=True)
    data = policy_edit.parse(document)
    entry = policy_edit.entry_of(data, target)
    base = policy_edit.inherited(document, target)
    mask_ticked = _ticked(view, av.block_of("mask"))
    users_block = av.block_of("users")
    picked = state_value(view, users_block, av.action_of(users_block)).get("selected_users") or []
    groups_block = av.block_of("usergroups")
    groups_text = state_value(view, groups_block, av.action_of(groups_block)).get("value")
    users, groups = policy_edit.people(
        _selected(view, "people"),
        [u for u in picked if isinstance(u, str)],
        policy_edit.parse_groups(groups_text if isinstance(groups_text, str) else None),
        entry=entry,
        base=base,
    )
    return policy_edit.RuleForm(
        allow=policy_edit.tri_state(_selected(view, "allow"), key="allow"),
        reply=policy_edit.reply_choice(_selected(view, "reply")),
        share=policy_edit.tri_state(_selected(view, "share"), key="share"),
        mask=policy_edit.mask_choice(
            [t for t in mask_ticked if t != av.INHERIT], inherit=av.INHERIT in mask_ticked
        ),
        guests=policy_edit.tri_state(_selected(view, "guests"), key="guests"),
        users=users,
        usergroups=groups,
        unfurl=policy_edit.tri_state(_selected(view, "unfurl"), key="unfurl"),
        external_unmasked=policy_edit.tri_state(
            _selected(view, "external_unmasked"), key="external_unmasked"
        ),
    )


def register(app: AsyncApp, handlers: AdminHandlers) -> None:
    """The admin buttons and modals; the Home tab gains the admin section. Registered before the
    catch-all listeners (``actions.register_fallbacks``), which would otherwise take these."""
    handlers.home.extend_home = handlers.extend_home
    for action_id in av.ACTIONS:
        app.action(action_id)(handlers.clicked)
    app.view(av.CALLBACK_CONNECT)(handlers.connect_submitted)
    app.view(av.CALLBACK_RULE_PICK)(handlers.rule_picked)
    app.view(av.CALLBACK_RULE_SAVE)(handlers.rule_saved)
    app.view(av.CALLBACK_TOML_SAVE)(handlers.toml_saved)
