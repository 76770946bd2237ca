"""A Slack Web API double: an aiohttp app answering every call pmhub makes, like Slack would.

State: users (by email), channels, DMs opened with `conversations.open`, messages per
channel with `ts` and metadata, history with cursor pagination, and command replies
posted to response_urls, trigger ids and the modals opened with them (`views.py`).
Slack's failure shapes: `{"ok": false, "error": …}` answers
(`invalid_auth`, `channel_not_found`, `users_not_found`, …) and HTTP 429 with
`Retry-After` when a channel gets more than one message per `min_post_interval`.
Injectable faults: latency, 5xx, 429, Slack error answers, hanging, and committing a
post then dropping the connection unanswered. Every exchange is recorded for contract
tests. Used by the tests and by `pmhub demo`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

from aiohttp import web

from connectors.common.ratelimits import RateLimits, retry_after
from connectors.slack.fake.api import METHODS, Args, Json, decode_args, fail
from connectors.slack.fake.history import ChannelHistorySeeding
from connectors.slack.fake.views import FakeModals
from connectors.slack.scopes import BOT_SCOPES

FaultKind = Literal["status", "rate_limit", "error", "hang", "drop_after_commit"]
TEAM = "T0PMHUB001"
BOT_USER = "U0PMHUBBOT"
BOT_ID = "B0PMHUB001"
APP_ID = "A0PMHUB001"
MAX_RESPONSE_URL_USES = 5  # Slack: a response_url takes up to five replies (in 30 minutes)


@dataclass
class Fault:
    kind: FaultKind
    times: int | None  # None: every matching call until cleared
    method: str | None = None  # a Slack method such as "chat.postMessage"
    status: int = 500
    retry_after: float | None = None
    error: str = ""

    def matches(self, method: str) -> bool:
        return self.method in (None, method)


@dataclass
class Exchange:
    """One call as received and what was answered (status None: nothing was)."""

    http_method: str
    api_method: str  # "chat.postMessage", or "response_url"
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any  # the JSON body, or form fields as a dict, or None
    content_type: str
    status: int | None = None
    response: Any = None
    response_headers: dict[str, str] = field(default_factory=dict)
    fault: FaultKind | None = None


@dataclass
class FakeSlack(ChannelHistorySeeding):
    """The fake's state: seed it, point a connector at it, then read `messages`/`exchanges`."""

    token: str = "xoxb-fake-token"  # noqa: S105 - the fake's own, not a credential
    bot_id: str = BOT_ID
    latency: float = 0.0
    min_post_interval: float = 1.0
    max_page_size: int = 999
    clock: Callable[[], float] = time.monotonic
    users: dict[str, Json] = field(default_factory=dict)  # by lower-case email
    user_ids: set[str] = field(default_factory=set)
    channels: dict[str, Json] = field(default_factory=dict)  # by id
    dms: dict[str, str] = field(default_factory=dict)  # user id -> D… channel
    messages: dict[str, list[Json]] = field(default_factory=dict)  # oldest first
    archived: set[str] = field(default_factory=set)
    not_member: set[str] = field(default_factory=set)
    # What the token was granted: Slack names it in every Web API answer's
    # `x-oauth-scopes` header (docs.slack.dev, "Scopes and permissions").
    scopes: set[str] = field(default_factory=lambda: set(BOT_SCOPES))
    replies: dict[str, list[Json]] = field(default_factory=dict)  # response_url id -> bodies
    pins: dict[str, list[Json]] = field(default_factory=dict)  # channel -> pinned items
    domain: str = "pmhub-fake.slack.com"  # the workspace's host, in permalinks
    calls: Counter[str] = field(default_factory=Counter)
    rate_limited: Counter[str] = field(default_factory=Counter)  # channel -> 429s given
    limits: RateLimits | None = None  # the method tiers, enforced when set (issue 16)
    exchanges: list[Exchange] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    _last_post: dict[str, float] = field(default_factory=dict)
    _last_ts: float = 0.0
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    modals: FakeModals = field(init=False)

    def __post_init__(self) -> None:
        self.modals = FakeModals(clock=self._now, team=TEAM, app_id=APP_ID, bot_id=self.bot_id)

    def _now(self) -> float:
        # Read at each call, so a test that swaps `clock` afterwards moves triggers too.
        return self.clock()

    # -- seeding ------------------------------------------------------------------

    def add_user(self, user_id: str, name: str, email: str) -> Json:
        handle = email.split("@", maxsplit=1)[0]
        user: Json = {
            "id": user_id,
            "team_id": TEAM,
            "name": handle,
            "deleted": False,
            "color": "9f69e7",
            "real_name": name,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": {
                "avatar_hash": "ge3b51ca72de",
                "status_text": "",
                "status_emoji": "",
                "real_name": name,
                "display_name": handle,
                "real_name_normalized": name,
                "display_name_normalized": handle,
                "email": email,
                "title": "",
                "phone": "",
                "skype": "",
                "fields": None,
                "team": TEAM,
            },
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": False,
            "updated": 1502138686,
            "is_app_user": False,
            "has_2fa": False,
        }
        self.users[email.lower()] = user
        self.user_ids.add(user_id)
        return user

    def add_channel(self, channel_id: str, name: str) -> Json:
        channel: Json = {"id": channel_id, "name": name, "is_im": False}
        self.channels[channel_id] = channel
        self.messages.setdefault(channel_id, [])
        return channel

    def dm_channel(self, user_id: str) -> str:
        """The DM between the bot and a user, opened on first use like Slack does."""
        if user_id not in self.dms:
            channel_id = f"D{user_id[1:]}{next(self._ids):02d}"
            self.dms[user_id] = channel_id
            self.channels[channel_id] = {"id": channel_id, "is_im": True, "user": user_id}
            self.messages.setdefault(channel_id, [])
        return self.dms[user_id]

    # -- what the methods use -------------------------------------------------------

    def resolve_channel(self, channel: str) -> str | None:
        if channel in self.channels:
            return channel
        if channel in self.user_ids:  # Slack posts to a user id in the app's DM with them
            return self.dm_channel(channel)
        return None

    def post_too_soon(self, channel: str) -> int | None:
        """Seconds to wait when this post comes within `min_post_interval` of the last one."""
        now = self.clock()
        last = self._last_post.get(channel)
        if last is not None and now - last < self.min_post_interval:
            self.rate_limited[channel] += 1
            return max(1, round(self.min_post_interval - (now - last) + 0.5))
        self._last_post[channel] = now
        return None

    def store_message(self, channel: str, args: Args) -> Json:
        message: Json = {
            "type": "message",
            "subtype": "bot_message",
            "text": str(args.get("text") or ""),
            "user": BOT_USER,
            "bot_id": self.bot_id,
            "team": TEAM,
            "ts": self._next_ts(),
        }
        if args.get("blocks"):
            message["blocks"] = args["blocks"]
        if args.get("metadata"):
            message["metadata"] = args["metadata"]
        self.messages[channel].append(message)
        return message

    def find_message(self, channel: str, ts: str) -> Json | None:
        return next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)

    def edit_message(self, message: Json, args: Args) -> None:
        message["text"] = str(args.get("text") or "")
        if "blocks" in args:  # absent: keep them; [] removes them (chat.update's rule)
            message["blocks"] = args["blocks"]
            if not args["blocks"]:
                del message["blocks"]
        if args.get("metadata"):
            message["metadata"] = args["metadata"]
        message["edited"] = {"user": BOT_USER, "ts": self._next_ts()}

    def render(self, message: Json, *, metadata: bool = True) -> Json:
        """A stored message as Slack shows it; metadata only when asked for."""
        shown = {k: v for k, v in message.items() if k != "edited"}
        if not metadata:
            shown.pop("metadata", None)
        return shown

    def posts(self, channel: str) -> list[Json]:
        """pmhub's messages in a channel (ignoring seeded human ones), oldest first."""
        return [m for m in self.messages.get(channel, []) if m.get("bot_id") == self.bot_id]

    def _next_ts(self) -> str:
        # Unique and increasing, like Slack's message ids.
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    # -- response_url ---------------------------------------------------------------

    def response_url(self, base_url: str) -> str:
        """A fresh response_url, as Slack includes with each command and button press."""
        hook_id = f"{TEAM}/{next(self._ids)}/fakesecret"
        self.replies[hook_id] = []
        return f"{base_url}/commands/{hook_id}"

    # -- interactions (what Slack sends the app when a person acts) --------------------

    def press_button(
        self, base_url: str, user_id: str, channel: str, ts: str, action_id: str
    ) -> Json:
        """The `block_actions` payload of `user_id` pressing a button on a posted message,
        with a fresh trigger_id and response_url (LookupError: no such button)."""
        message = self.find_message(channel, ts)
        found = [
            (block, element)
            for block in (message or {}).get("blocks", [])
            if block.get("type") == "actions"
            for element in block.get("elements", [])
            if element.get("action_id") == action_id
        ]
        if not found:
            raise LookupError(f"no {action_id} button on message {ts} in {channel}")
        block, element = found[0]
        return {
            "type": "block_actions",
            **self._who(user_id),
            "container": {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": self.modals.issue_trigger(user_id),
            "channel": {"id": channel, "name": self.channels[channel].get("name", "directmessage")},
            "message": self.render(message or {}, metadata=False),
            "state": {"values": {}},
            "response_url": self.response_url(base_url),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block.get("block_id", "actions"),
                    "text": element.get("text"),
                    "value": element.get("value"),
                    "type": element.get("type"),
                    "action_ts": self._next_ts(),
                }
            ],
        }

    def submit_view(self, view_id: str, user_id: str, inputs: dict[str, Any]) -> Json:
        """The `view_submission` payload of `user_id` submitting an opened view, `inputs`
        by action id (ValueError for a submission Slack's client would not allow)."""
        state = self.modals.submitted_state(view_id, user_id, inputs)
        return {
            "type": "view_submission",
            **self._who(user_id),
            "trigger_id": self.modals.issue_trigger(user_id),
            "view": {**self.modals.views[view_id], "state": state},
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }

    def _who(self, user_id: str) -> Json:
        handle = next((u["name"] for u in self.users.values() if u["id"] == user_id), user_id)
        return {
            "team": {"id": TEAM, "domain": "pmhub-fake"},
            "user": {"id": user_id, "username": handle, "name": handle, "team_id": TEAM},
            "api_app_id": APP_ID,
            "token": "fake-verification-token",
        }

    # -- faults -------------------------------------------------------------------

    def fail(self, status: int = 500, *, times: int | None = 1, method: str | None = None) -> None:
        self.faults.append(Fault("status", times, method, status=status))

    def rate_limit(
        self, retry_after: float | None = 7, *, times: int | None = 1, method: str | None = None
    ) -> None:
        self.faults.append(Fault("rate_limit", times, method, 429, retry_after))

    def error(self, error: str, *, times: int | None = 1, method: str | None = None) -> None:
        """Answer `{"ok": false, "error": error}` (HTTP 200), e.g. `token_revoked`."""
        self.faults.append(Fault("error", times, method, status=200, error=error))

    def hang(self, *, times: int | None = 1, method: str | None = None) -> None:
        """Accept the call and never answer (until the fake shuts down)."""
        self.faults.append(Fault("hang", times, method))

    def drop_after_commit(self, *, times: int | None = 1, method: str | None = None) -> None:
        """Carry out the call (store the message), then close the connection unanswered."""
        self.faults.append(Fault("drop_after_commit", times, method))

    def _take_fault(self, method: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    # -- app ----------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application()
        app[STATE] = self
        app.router.add_route("*", "/api/{method}", _api)
        app.router.add_post("/commands/{team}/{n}/{secret}", _response_url)

        async def release_hanging(_: web.Application) -> None:
            self._released.set()

        app.on_shutdown.append(release_hanging)
        return app


STATE = web.AppKey("slack_fake", FakeSlack)


async def _read_args(request: web.Request) -> tuple[Args, Any]:
    """Arguments from the query string, form fields or a JSON body; and the body as sent."""
    args: Args = dict(request.query)
    raw = await request.read()
    body: Any = None
    if raw and request.content_type == "application/json":
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        if isinstance(body, dict):
            args.update(body)
    elif raw:
        body = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        args.update(body)
    return args, body


def _authorized(state: FakeSlack, request: web.Request, args: Args) -> str | None:
    """None when the bot token came (Bearer header, or `token` argument); else the error."""
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
    token = token or args.pop("token", None)
    if not token:
        return "not_authed"
    return None if token == state.token else "invalid_auth"


async def _api(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    method = request.match_info["method"]
    args, body = await _read_args(request)
    exchange = _record(state, request, method, body)

    async def answer() -> web.Response:
        handler = METHODS.get(method)
        if handler is None:
            return fail("unknown_method", 404)
        denied = _authorized(state, request, args)
        if denied:
            return fail(denied)
        return await handler(state, decode_args(args))

    return await _serve(request, state, exchange, answer)


async def _response_url(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    hook_id = "/".join(request.match_info[k] for k in ("team", "n", "secret"))
    args, body = await _read_args(request)
    exchange = _record(state, request, "response_url", body)

    async def answer() -> web.Response:
        replies = state.replies.get(hook_id)
        if replies is None:
            return web.Response(status=404, text="invalid_token")
        if len(replies) >= MAX_RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        if not args.get("text") and not args.get("blocks"):
            return web.Response(status=400, text="no_text")
        replies.append(args)
        return web.Response(text="ok")

    return await _serve(request, state, exchange, answer)


def _record(state: FakeSlack, request: web.Request, method: str, body: Any) -> Exchange:
    exchange = Exchange(
        http_method=request.method,
        api_method=method,
        path=request.path,
        query=list(request.query.items()),
        headers=dict(request.headers),
        body=body,
        content_type=request.content_type,
    )
    state.exchanges.append(exchange)
    state.calls[method] += 1
    return exchange


async def _serve(
    request: web.Request,
    state: FakeSlack,
    exchange: Exchange,
    answer: Callable[[], Awaitable[web.Response]],
) -> web.StreamResponse:
    if state.latency:
        await asyncio.sleep(state.latency)
    fault = state._take_fault(exchange.api_method)
    exchange.fault = fault.kind if fault else None
    over = state.limits.check(exchange.api_method) if state.limits is not None else None
    if over is not None:
        response = fail("ratelimited", 429, retry_after(over))
    elif fault is not None and fault.kind == "hang":
        await state._released.wait()
        response = fail("service_unavailable", 503)
    elif fault is not None and fault.kind == "status":
        response = web.Response(status=fault.status, text="<html>Server error</html>")
    elif fault is not None and fault.kind == "rate_limit":
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        response = fail("ratelimited", 429, headers)
    elif fault is not None and fault.kind == "error":
        response = fail(fault.error)
    else:
        response = await answer()
    if fault is not None and fault.kind == "drop_after_commit" and request.transport:
        # The effect is stored; the caller never learns it.
        request.transport.abort()
        return response
    if exchange.api_method != "response_url":
        response.headers["x-oauth-scopes"] = ",".join(sorted(state.scopes))
    exchange.status = response.status
    exchange.response_headers = dict(response.headers)
    if response.text is not None and response.content_type == "application/json":
        exchange.response = json.loads(response.text)
    else:
        exchange.response = response.text
    return response
