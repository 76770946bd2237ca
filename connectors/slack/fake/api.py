"""The Slack fake's Web API methods: what each answers, shaped as Slack shapes it.

Split from the fake's `__init__.py` (state, seeding, faults, serving) to keep both readable. Every
method takes its arguments the ways Slack does (query string, form fields or a JSON
body, as slack_sdk sends each) and answers HTTP 200 with `{"ok": …}`, except a rate
limit: HTTP 429 with `Retry-After`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from connectors.slack.fake.views import VIEW_MAX_BYTES, TriggerCheck, view_problems, view_size

if TYPE_CHECKING:
    from connectors.slack.fake import FakeSlack

Json = dict[str, Any]
Args = dict[str, Any]
Method = Callable[["FakeSlack", Args], Awaitable[web.Response]]

DEFAULT_HISTORY_LIMIT = 100
MAX_HISTORY_LIMIT = 999
MAX_REPLIES_LIMIT = 1000
# Slack's own limits (docs.slack.dev chat.postMessage: text is truncated past 40,000;
# blocks: at most 50 per message).
MAX_TEXT = 40_000
MAX_BLOCKS = 50
JSON_ARGS = frozenset({"blocks", "attachments", "metadata", "view"})
_INVALID = object()  # a JSON argument that did not parse


def ok(body: Mapping[str, Any] | None = None) -> web.Response:
    return web.json_response({"ok": True, **(body or {})})


def fail(
    error: str,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    *,
    messages: list[str] | None = None,
) -> web.Response:
    # Slack answers most failures with HTTP 200 and ok:false; only rate limits are 429.
    # `invalid_arguments` says what was wrong in `response_metadata.messages`.
    body: Json = {"ok": False, "error": error}
    if messages:
        body["response_metadata"] = {"messages": messages}
    return web.json_response(body, status=status, headers=headers)


def decode_args(args: Args) -> Args:
    """Form fields carry JSON arguments as strings; a JSON body carries them as values."""
    decoded = dict(args)
    for name in JSON_ARGS & decoded.keys():
        value = decoded[name]
        if isinstance(value, str):
            try:
                decoded[name] = json.loads(value)
            except ValueError:
                decoded[name] = _INVALID
    return decoded


def truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _cursor(offset: int) -> str:
    return base64.b64encode(f"next_offset:{offset}".encode()).decode()


def _offset(cursor: str) -> int | None:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except ValueError:
        return None
    prefix, _, number = text.partition(":")
    return int(number) if prefix == "next_offset" and number.isdigit() else None


def _ts_value(raw: Any, default: float) -> float | None:
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def _message_errors(args: Args) -> str | None:
    """Slack's validation of a message body, the parts a client can get wrong."""
    text, blocks = args.get("text"), args.get("blocks")
    if blocks is _INVALID or args.get("metadata") is _INVALID:
        return "invalid_blocks_format" if blocks is _INVALID else "invalid_metadata_format"
    if blocks is not None and (
        not isinstance(blocks, list)
        or len(blocks) > MAX_BLOCKS
        or not all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks)
    ):
        return "invalid_blocks"
    if not text and not blocks:
        return "no_text"
    if isinstance(text, str) and len(text) > MAX_TEXT:
        return "msg_too_long"
    metadata = args.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not isinstance(metadata.get("event_payload"), dict)
    ):
        return "invalid_metadata_schema"
    return None


async def users_lookup_by_email(state: FakeSlack, args: Args) -> web.Response:
    email = str(args.get("email") or "").strip().lower()
    user = state.users.get(email)
    if user is None:
        return fail("users_not_found")
    return ok({"user": user})


async def conversations_open(state: FakeSlack, args: Args) -> web.Response:
    users = [u for u in str(args.get("users") or "").split(",") if u]
    if not users:
        return fail("users_list_not_supplied")
    if len(users) > 1:
        return fail("method_not_supported_for_channel_type")  # pmhub opens 1:1 DMs only
    user_id = users[0]
    if user_id not in state.user_ids:
        return fail("user_not_found")
    return ok({"channel": {"id": state.dm_channel(user_id)}})


async def chat_post_message(state: FakeSlack, args: Args) -> web.Response:
    channel = str(args.get("channel") or "")
    target = state.resolve_channel(channel)
    if target is None:
        return fail("channel_not_found")
    if target in state.archived:
        return fail("is_archived")
    if target in state.not_member:
        return fail("not_in_channel")
    error = _message_errors(args)
    if error:
        return fail(error)
    retry_after = state.post_too_soon(target)
    if retry_after is not None:
        return fail("ratelimited", 429, {"Retry-After": str(retry_after)})
    message = state.store_message(target, args)
    return ok({"channel": target, "ts": message["ts"], "message": state.render(message)})


async def chat_update(state: FakeSlack, args: Args) -> web.Response:
    channel = state.resolve_channel(str(args.get("channel") or ""))
    if channel is None:
        return fail("channel_not_found")
    message = state.find_message(channel, str(args.get("ts") or ""))
    if message is None:
        return fail("message_not_found")
    if message.get("bot_id") != state.bot_id:
        return fail("cant_update_message")
    error = _message_errors(args)
    if error:
        return fail(error)
    state.edit_message(message, args)
    shown = state.render(message)
    return ok({"channel": channel, "ts": message["ts"], "text": message["text"], "message": shown})


async def conversations_history(state: FakeSlack, args: Args) -> web.Response:
    channel = state.resolve_channel(str(args.get("channel") or ""))
    if channel is None:
        return fail("channel_not_found")
    if channel in state.not_member:
        return fail("not_in_channel")
    oldest = _ts_value(args.get("oldest"), 0.0)
    latest = _ts_value(args.get("latest"), float("inf"))
    if oldest is None:
        return fail("invalid_ts_oldest")
    if latest is None:
        return fail("invalid_ts_latest")
    try:
        limit = int(args.get("limit") or DEFAULT_HISTORY_LIMIT)
    except ValueError:
        limit = DEFAULT_HISTORY_LIMIT
    limit = max(1, min(limit, MAX_HISTORY_LIMIT, state.max_page_size))
    offset = 0
    if args.get("cursor"):
        found = _offset(str(args["cursor"]))
        if found is None:
            return fail("invalid_cursor")
        offset = found
    inclusive = truthy(args.get("inclusive"))
    # Newest first by ts, as Slack pages: messages seeded with their own time (`at`)
    # may sit in the list out of order.
    by_ts = sorted(state.messages.get(channel, []), key=lambda m: float(m["ts"]), reverse=True)
    newest_first = [
        m
        for m in by_ts
        if (oldest <= float(m["ts"]) if inclusive else oldest < float(m["ts"]))
        and (float(m["ts"]) <= latest if inclusive else float(m["ts"]) < latest)
        and _in_channel_view(m)
    ]
    page = newest_first[offset : offset + limit]
    with_metadata = truthy(args.get("include_all_metadata"))
    has_more = offset + limit < len(newest_first)
    body: Json = {
        "messages": [state.render(m, metadata=with_metadata) for m in page],
        "has_more": has_more,
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
    }
    if has_more:
        body["response_metadata"] = {"next_cursor": _cursor(offset + limit)}
    return ok(body)


def _in_channel_view(message: Json) -> bool:
    """History shows thread parents and plain messages; replies only when broadcast."""
    thread = message.get("thread_ts")
    return not thread or thread == message["ts"] or message.get("subtype") == "thread_broadcast"


def _limit(args: Args, default: int, ceiling: int) -> int:
    try:
        return max(1, min(int(args.get("limit") or default), ceiling))
    except (TypeError, ValueError):
        return default


async def conversations_replies(state: FakeSlack, args: Args) -> web.Response:
    channel = state.resolve_channel(str(args.get("channel") or ""))
    if channel is None:
        return fail("channel_not_found")
    ts = str(args.get("ts") or "")
    parent = state.find_message(channel, ts)
    if parent is None:
        return fail("thread_not_found")
    thread = str(parent.get("thread_ts") or ts)
    if thread != ts:  # `ts` of a reply: the thread is its parent's
        parent = state.find_message(channel, thread) or parent
    replies = [
        m
        for m in state.messages.get(channel, [])
        if m.get("thread_ts") == thread and m is not parent
    ]
    limit = min(_limit(args, MAX_REPLIES_LIMIT, MAX_REPLIES_LIMIT), state.max_page_size)
    offset = 0
    if args.get("cursor"):
        found = _offset(str(args["cursor"]))
        if found is None:
            return fail("invalid_cursor")
        offset = found
    # The parent comes first on every page, then the next replies, oldest first.
    page = replies[offset : offset + limit]
    has_more = offset + limit < len(replies)
    body: Json = {
        "messages": [state.render(parent), *map(state.render, page)],
        "has_more": has_more,
    }
    if has_more:
        body["response_metadata"] = {"next_cursor": _cursor(offset + limit)}
    return ok(body)


async def pins_list(state: FakeSlack, args: Args) -> web.Response:
    channel = state.resolve_channel(str(args.get("channel") or ""))
    if channel is None:
        return fail("channel_not_found")
    items = []
    for pin in state.pins.get(channel, []):
        message = state.find_message(channel, pin["ts"])
        if message is None:
            continue
        shown = {**state.render(message), "permalink": state.permalink(channel, message)}
        item = {k: v for k, v in pin.items() if k != "ts"}
        items.append({**item, "message": shown})
    return ok({"items": items})


async def chat_get_permalink(state: FakeSlack, args: Args) -> web.Response:
    channel = state.resolve_channel(str(args.get("channel") or ""))
    if channel is None:
        return fail("channel_not_found")
    message = state.find_message(channel, str(args.get("message_ts") or ""))
    if message is None:
        return fail("message_not_found")
    return ok({"channel": channel, "permalink": state.permalink(channel, message)})


# One `return fail("…")` per documented error, spelled out so that the contract test
# (which reads the literal errors passed to `fail`) checks each of them.
async def views_open(state: FakeSlack, args: Args) -> web.Response:  # noqa: PLR0911
    view = args.get("view")
    if view is None:
        return fail("invalid_arguments", messages=["[ERROR] missing required field: view"])
    problems = view_problems(view if view is not _INVALID else None)
    if problems:
        return fail("invalid_arguments", messages=problems)
    if view_size(view) > VIEW_MAX_BYTES:
        return fail("view_too_large")
    check, user_id = state.modals.exchange(args.get("trigger_id"))
    if check is TriggerCheck.MALFORMED:
        return fail("invalid_trigger_id")
    if check is TriggerCheck.UNKNOWN:
        return fail("invalid_arguments", messages=["invalid `trigger_id`"])
    if check is TriggerCheck.EXPIRED:
        return fail("expired_trigger_id")
    if check is TriggerCheck.EXCHANGED:
        return fail("exchanged_trigger_id")
    assert user_id is not None  # noqa: S101 - an issued trigger always names its user
    return ok({"view": state.modals.open(view, user_id)})


async def auth_test(state: FakeSlack, args: Args) -> web.Response:
    # Slack's Web API document: auth.test answers who the token is (a bot token: its
    # bot user and bot id). Needs no scope.
    # Late: the fake's __init__ (which holds the workspace's ids) imports this module.
    from connectors.slack.fake import BOT_USER, TEAM  # noqa: PLC0415

    return ok(
        {
            "url": f"https://{state.domain}/",
            "team": "pmhub fake",
            "user": "pmhub",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": state.bot_id,
            "is_enterprise_install": False,
        }
    )


METHODS: dict[str, Method] = {
    "auth.test": auth_test,
    "users.lookupByEmail": users_lookup_by_email,
    "conversations.open": conversations_open,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "pins.list": pins_list,
    "chat.getPermalink": chat_get_permalink,
    "views.open": views_open,
}
