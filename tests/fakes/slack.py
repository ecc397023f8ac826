"""A local stand-in for Slack: the Web API methods the bot calls, and ``response_url`` hooks.

Per-test state (channels, users, user groups) answers ``conversations.info``, ``users.info`` and
``usergroups.users.list``; ``fail(method, how)`` makes a method answer 500, hang or rate-limit.
``POST /hooks/<id>`` records what the bot delivers to a response_url; ``hook_fail`` scripts faults.

Every message, modal and Home view the bot sends here (response_url posts, Socket Mode ack payloads,
``views.*``, ``chat.postMessage``/``postEphemeral``/``update``/``unfurl``) is checked with our Block Kit
checks and slack_sdk's (tests/blockkit.py); what they find is kept in ``block_kit_problems``, which the
integration tests assert is empty after each test.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
import time
from collections import defaultdict, deque
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tests.blockkit import attachment_problems, message_problems, view_problems
from tests.fakes.threaded import ThreadedServer

VIEW_METHODS = ("views.open", "views.update", "views.publish", "views.push")
MESSAGE_METHODS = ("chat.postMessage", "chat.postEphemeral", "chat.update")
# Web API arguments that carry JSON: a form-encoded call sends them as JSON strings.
JSON_ARGUMENTS = ("view", "blocks", "attachments", "unfurls", "user_auth_blocks", "metadata")


class FakeSlack:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.reset()
        app = web.Application()
        app.router.add_get("/socket", self._socket)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/hooks/{hook}", self._hook)
        self.server = ThreadedServer(app)

    def start(self) -> FakeSlack:
        self.server.start()
        return self

    def reset(self) -> None:
        with self._lock:
            self.calls: list[tuple[str, dict[str, Any]]] = []
            self.shared_channels: set[str] = set()
            self.guests: set[str] = set()
            self.groups: dict[str, list[str]] = {}
            self.failures: dict[str, deque[str]] = defaultdict(deque)
            self.always_fail: dict[str, str] = {}
            self.hooks: dict[str, list[dict[str, Any]]] = defaultdict(list)
            self.hook_failures: dict[str, deque[int | str]] = defaultdict(deque)
            self.hook_attempts: dict[str, int] = defaultdict(int)
            self.auth_error: str | None = None
            self.sockets: list[web.WebSocketResponse] = []
            self.socket_acks: dict[str, dict[str, Any]] = {}
            self.block_kit_problems: list[str] = []
            # Many workspaces (distribution mode): who each bot token is, OAuth codes and refresh
            # tokens waiting to be exchanged, revoked tokens, and which token made each call.
            self.identities: dict[str, dict[str, Any]] = {}
            self.codes: dict[str, dict[str, Any]] = {}
            self.refresh_tokens: dict[str, str] = {}
            self.revoked: set[str] = set()
            self.tokens_used: list[tuple[str, str]] = []
            self.admins: set[str] = set()
            self.owners: set[str] = set()
            self.user_teams: dict[str, str] = {}
            self.user_enterprises: dict[str, str] = {}
            """A person's Grid org, when not the org of the token asking (Slack Connect)."""
            self.org_admins: set[str] = set()
            self.client_secret: str | None = None

    # -- state helpers used by tests ---------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return self.server.url + "/api/"

    def new_hook(self) -> str:
        return f"{self.server.url}/hooks/{next(self._ids)}"

    def posts(self, url: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.hooks[url.rsplit("/", 1)[1]])

    def fail(self, method: str, how: str = "500", *, times: int | None = None) -> None:
        """``how``: "500", "hang", "ratelimited", or a Slack error code such as "invalid_auth"."""
        with self._lock:
            if times is None:
                self.always_fail[method] = how
            else:
                self.failures[method].extend([how] * times)

    def method_calls(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [params for name, params in self.calls if name == method]

    def calls_with(self, token: str) -> list[str]:
        """The methods called with this token, in order."""
        with self._lock:
            return [method for method, used in self.tokens_used if used == token]

    def register_install(
        self,
        team_id: str | None,
        team_name: str = "",
        *,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
        org_wide: bool = False,
        installer: str = "UINSTALLER",
        rotation: bool = False,
    ) -> tuple[str, str]:
        """An install waiting at ``oauth.v2.access``, shaped like Slack's answer (an org-wide one has
        ``"team": null``): returns the OAuth code and the bot token it will grant."""
        n = next(self._ids)
        owner = enterprise_id if org_wide else team_id
        token = f"xoxb-{owner}-{n}" if not rotation else f"xoxe.xoxb-1-{owner}-{n}"
        bot_user = f"{'W' if org_wide else 'U'}BOT{owner}"
        with self._lock:
            self.identities[token] = {
                "ok": True,
                "url": f"https://{(team_name or 'org').lower()}.slack.com/",
                "team": team_name,
                "user": "bik",
                "team_id": team_id if not org_wide else None,
                "user_id": bot_user,
                "bot_id": f"B{owner}",
                "enterprise_id": enterprise_id,
                "is_enterprise_install": org_wide,
            }
            answer: dict[str, Any] = {
                "ok": True,
                "app_id": "A1",
                "authed_user": {"id": installer},
                "scope": "commands,users:read,links:read,links:write",
                "token_type": "bot",
                "access_token": token,
                "bot_user_id": bot_user,
                "team": None if org_wide else {"id": team_id, "name": team_name},
                "enterprise": {"id": enterprise_id, "name": enterprise_name or ""} if enterprise_id else None,
                "is_enterprise_install": org_wide,
            }
            if rotation:
                refresh = f"xoxe-1-refresh-{owner}-{n}"
                answer |= {"refresh_token": refresh, "expires_in": 43200}
                self.refresh_tokens[refresh] = token
            code = f"code-{n}"
            self.codes[code] = answer
        return code, token

    def _refreshed(self, refresh: str) -> dict[str, Any]:
        """``oauth.v2.access`` with ``grant_type=refresh_token``: a new token, same identity."""
        with self._lock:
            old = self.refresh_tokens.pop(refresh, None)
            if old is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            n = next(self._ids)
            token = f"{old.rsplit('-', 1)[0]}-r{n}"
            self.identities[token] = self.identities[old]
            self.revoked.add(old)  # the old access token stops working once refreshed
            new_refresh = f"{refresh}-r{n}"
            self.refresh_tokens[new_refresh] = token
        return {
            "ok": True,
            "token_type": "bot",
            "access_token": token,
            "refresh_token": new_refresh,
            "expires_in": 43200,
        }

    # -- handlers ----------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        body = await request.read()
        if body:
            if request.content_type == "application/json":
                params.update(json.loads(body))
            else:
                params.update(parse_qsl(body.decode()))
        return params

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await self._params(request)
        self._check_call(method, params)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):  # oauth.v2.access: the client id and secret, as HTTP basic auth
            client_id, _, secret = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
            params.setdefault("client_id", client_id)
            params.setdefault("client_secret", secret)
            auth = ""
        token = auth.removeprefix("Bearer ") or str(params.get("token", ""))
        with self._lock:
            self.calls.append((method, params))
            self.tokens_used.append((method, token))
            queued = self.failures.get(method)
            how = queued.popleft() if queued else self.always_fail.get(method)
            if token in self.revoked:
                how = "token_revoked"
        if how == "500":
            return web.Response(status=500, text="boom")
        if how == "hang":
            await asyncio.sleep(30)
        if how == "ratelimited":
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
            )
        if how:
            return web.json_response({"ok": False, "error": how})
        return web.json_response(self._answer(method, params, token))

    def _answer(self, method: str, params: dict[str, Any], token: str = "") -> dict[str, Any]:
        if method == "oauth.v2.access":
            if self.client_secret is not None and params.get("client_secret") != self.client_secret:
                return {"ok": False, "error": "invalid_client_id"}
            if params.get("grant_type") == "refresh_token":
                return self._refreshed(str(params.get("refresh_token")))
            with self._lock:
                answer = self.codes.pop(str(params.get("code")), None)  # a code is good once
            return answer or {"ok": False, "error": "invalid_code"}
        if method == "auth.test" and token in self.identities:
            return self.identities[token]
        if method == "auth.test":
            if self.auth_error:
                return {"ok": False, "error": self.auth_error}
            return {
                "ok": True,
                "team": "Test Team",
                "team_id": "T1",
                "user": "bik",
                "user_id": "UBOT",
                "bot_id": "B1",
            }
        if method == "conversations.info":
            channel = str(params.get("channel"))
            shared = channel in self.shared_channels
            return {"ok": True, "channel": {"id": channel, "is_ext_shared": shared, "is_shared": shared}}
        if method == "users.info":
            user = str(params.get("user"))
            guest = user in self.guests
            identity = self.identities.get(token, {})
            home_team = identity.get("team_id") or "T1"
            # A person placed in another workspace (user_teams) is of no org unless a test says so.
            grid = self.user_enterprises.get(
                user, identity.get("enterprise_id") if user not in self.user_teams else None
            )
            found: dict[str, Any] = {
                "ok": True,
                "user": {
                    "id": user,
                    "team_id": self.user_teams.get(user, home_team),
                    "is_restricted": guest,
                    "is_ultra_restricted": False,
                    "is_admin": user in self.admins or user in self.owners,
                    "is_owner": user in self.owners,
                },
            }
            if grid:  # Enterprise Grid: the person's org, and their rights in it
                found["user"]["enterprise_user"] = {
                    "id": user,
                    "enterprise_id": grid,
                    "is_admin": user in self.org_admins,
                    "is_owner": False,
                }
            return found
        if method == "usergroups.users.list":
            group = str(params.get("usergroup"))
            if group not in self.groups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": self.groups[group]}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.server.url.replace("http://", "ws://") + "/socket"}
        if method in ("views.open", "views.update"):
            return {"ok": True, "view": {"id": params.get("view_id") or "V123"}}
        if method in ("views.publish", "views.push"):
            return {"ok": True, "view": self._view_answer(method, params)}
        if method == "chat.postMessage":
            ts = self._ts()
            channel = str(params.get("channel"))
            return {"ok": True, "channel": channel, "ts": ts, "message": self._message_answer(params, ts)}
        if method == "chat.update":
            ts = str(params.get("ts"))
            message = self._message_answer(params, ts)
            return {
                "ok": True,
                "channel": str(params.get("channel")),
                "ts": ts,
                "text": message["text"],
                "message": message,
            }
        if method == "chat.unfurl":
            return {"ok": True}
        return {"ok": False, "error": "unknown_method"}

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._ids):06d}"

    def _view_answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The view as Slack echoes it back: what was sent, plus the fields Slack fills in."""
        sent = _json(params.get("view"))
        view = sent if isinstance(sent, dict) else {}
        view_id = f"V{next(self._ids):08d}"
        return {
            "id": view_id,
            "team_id": "T1",
            "type": view.get("type", "home" if method == "views.publish" else "modal"),
            "title": view.get("title"),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{next(self._ids):08d}",
            "clear_on_close": view.get("clear_on_close", False),
            "notify_on_close": view.get("notify_on_close", False),
            "root_view_id": "V123" if method == "views.push" else view_id,
            "previous_view_id": None,
            "app_id": "A1",
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": "T1",
            "bot_id": "B1",
        }

    @staticmethod
    def _message_answer(params: dict[str, Any], ts: str) -> dict[str, Any]:
        """The posted message as Slack returns it."""
        message: dict[str, Any] = {
            "type": "message",
            "user": "UBOT",
            "bot_id": "B1",
            "app_id": "A1",
            "team": "T1",
            "text": str(params.get("text") or ""),
            "ts": ts,
        }
        for key in ("blocks", "attachments"):
            value = _json(params.get(key))
            if value:
                message[key] = value
        if params.get("thread_ts"):
            message["thread_ts"] = str(params["thread_ts"])
        return message

    # -- Block Kit checks on what the bot sends -----------------------------------------------------

    def _record(self, where: str, problems: list[str]) -> None:
        if problems:
            with self._lock:
                self.block_kit_problems.extend(f"{where}: {problem}" for problem in problems)

    def _check_call(self, method: str, params: dict[str, Any]) -> None:
        if method not in (*VIEW_METHODS, *MESSAGE_METHODS, "chat.unfurl"):
            return
        decoded = dict(params)
        for key in JSON_ARGUMENTS:
            if isinstance(params.get(key), str):
                try:
                    decoded[key] = json.loads(params[key])
                except ValueError:
                    self._record(method, [f"{key} is not JSON: {params[key][:120]!r}"])
                    return
        if method in VIEW_METHODS:
            view = decoded.get("view")
            if view is None:
                self._record(method, ["no view"])
            else:
                self._record(method, view_problems(view))
        elif method in MESSAGE_METHODS:
            message = {k: decoded[k] for k in ("text", "blocks", "attachments") if k in decoded}
            self._record(method, message_problems(message))
        else:
            self._check_unfurls(decoded)

    def _check_ack(self, where: str, payload: dict[str, Any]) -> None:
        """An ack's payload: a message, or a view submission's ``response_action`` (maybe with a view),
        or a select menu's options (no Block Kit blocks)."""
        if "response_action" in payload:
            if "view" in payload:
                self._record(where, view_problems(_json(payload["view"])))
        elif not {"options", "option_groups"} & payload.keys():
            self._record(where, message_problems(payload))

    def _check_unfurls(self, params: dict[str, Any]) -> None:
        """``unfurls``: {url: attachment}; an attachment shows ``blocks`` (up to 50, as a message's)."""
        unfurls = params.get("unfurls")
        if not isinstance(unfurls, dict) or not unfurls:
            self._record(
                "chat.unfurl", [f"unfurls is not a non-empty object of url -> attachment: {unfurls!r}"]
            )
            return
        for url, attachment in unfurls.items():
            self._record(f"chat.unfurl {url}", attachment_problems(attachment))
        if "user_auth_blocks" in params:
            blocks = {"blocks": params["user_auth_blocks"]}
            self._record("chat.unfurl user_auth_blocks", attachment_problems(blocks))

    # -- Socket Mode -------------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
        with self._lock:
            self.sockets.append(ws)
        async for message in ws:
            data = json.loads(message.data)
            if isinstance(data.get("payload"), dict):
                self._check_ack(f"socket ack {data.get('envelope_id')}", data["payload"])
            if "envelope_id" in data:
                with self._lock:
                    self.socket_acks[data["envelope_id"]] = data
        return ws

    def send_envelope(self, kind: str, payload: dict[str, Any]) -> str:
        """Push an envelope to the connected app, as Slack does; returns its id."""
        envelope_id = f"env-{next(self._ids)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": True,
        }
        with self._lock:
            ws = self.sockets[-1]
        self.server.call(ws.send_json(envelope))
        return envelope_id

    def ack_for(self, envelope_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self.socket_acks.get(envelope_id)

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        hook = request.match_info["hook"]
        body = await request.json()
        self._record(f"response_url hook {hook}", message_problems(body))
        with self._lock:
            self.hook_attempts[hook] += 1
            queued = self.hook_failures.get(hook)
            how = queued.popleft() if queued else None
        if how == "hang":
            await asyncio.sleep(30)
        if isinstance(how, int):
            headers = {"Retry-After": "1"} if how == 429 else {}
            return web.Response(status=how, text="error", headers=headers)
        with self._lock:
            self.hooks[hook].append({**body, "_received": time.monotonic()})
        return web.Response(text="ok")

    def hook_fail(self, url: str, *faults: int | str) -> None:
        with self._lock:
            self.hook_failures[url.rsplit("/", 1)[1]].extend(faults)

    def attempts(self, url: str) -> int:
        with self._lock:
            return self.hook_attempts[url.rsplit("/", 1)[1]]


def _json(value: Any) -> Any:
    """A Web API argument that may arrive as a JSON string (form-encoded calls)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
