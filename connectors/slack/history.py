"""The incident channel's history as `hub.ports.ChannelHistory`: what a timeline is made of.

Read: `conversations.history` (cursor pages, newest first, within [since, until]), then
`conversations.replies` for each thread, `pins.list` for pinned messages, and one
`chat.getPermalink` to learn the workspace's permalink form (Slack documents it:
`…/archives/<channel>/p<ts without the dot>`, plus `?thread_ts=…&cid=…` inside a
thread); the other links follow that form, so a read costs one permalink call, not one
per message. If the answer does not have that form (an Enterprise Grid host, a future
format), each message's link is asked for, up to `max_permalinks` calls.

Limits: `limit` messages (top-level and replies together) per read. Slack pages newest
first, so when a channel holds more, the *newest* `limit` are kept and the read says it
was cut (`truncated`): narrow `until`, or raise the policy's limit. Slack rate-limits
these methods per app and method (Tier 3 for internal apps; commercially distributed
non-Marketplace apps: 1 request a minute and 15 messages a page), so a 429 is waited
out here, honouring Retry-After, until `max_wait_seconds` have been spent in one read;
then the `RateLimited` goes to the job runner, which retries the whole read later.

Scopes: channels:history and groups:history (history, replies), pins:read (pins).
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiohttp

from connectors.slack.client import JsonDict, SlackClient, effect_key_of
from connectors.slack.config import SlackConfig
from hub.errors import RateLimited
from hub.ports import Actor, EntryKind, HistoryEntry, HistoryRead, HistorySource

T = TypeVar("T")
DEFAULT_RETRY_AFTER = 30.0  # Slack always sends Retry-After; this is for a proxy that drops it
JOIN_SUBTYPES = frozenset({"channel_join", "group_join"})


def ts_of(moment: datetime | None) -> str | None:
    return None if moment is None else f"{moment.timestamp():.6f}"


def _time(ts: str) -> datetime:
    return datetime.fromtimestamp(float(ts), tz=UTC)


def _actor(message: Mapping[str, Any]) -> Actor | None:
    profile = (
        message.get("user_profile") if isinstance(message.get("user_profile"), Mapping) else {}
    )
    name = (profile or {}).get("real_name") or message.get("username")
    user = message.get("user") or message.get("bot_id")
    if not user and not name:
        return None
    bot = bool(message.get("bot_id")) or message.get("subtype") == "bot_message"
    return Actor(
        name=str(name) if name else None,
        vendor_id=str(user) if user else None,
        is_bot=bot,
    )


def entry_of(message: Mapping[str, Any], *, link: str | None, pinned: bool) -> HistoryEntry:
    """One Slack message as a history entry (pure)."""
    ts = str(message["ts"])
    subtype = str(message.get("subtype") or "")
    thread = message.get("thread_ts")
    labels = [subtype] if subtype else []
    if effect_key_of(message) is not None:
        labels.append("pmhub")
    reactions = tuple(
        (str(r.get("name")), int(r.get("count") or 0))
        for r in message.get("reactions") or ()
        if isinstance(r, Mapping) and r.get("name")
    )
    return HistoryEntry(
        source=HistorySource.SLACK,
        id=ts,
        kind=EntryKind.JOINED if subtype in JOIN_SUBTYPES else EntryKind.MESSAGE,
        vendor_type=subtype or "message",
        at=_time(ts),
        actor=_actor(message),
        text=str(message.get("text") or ""),
        link=link,
        thread_id=str(thread) if thread and thread != ts else None,
        pinned=pinned,
        reactions=reactions,
        labels=tuple(labels),
    )


class _Permalinks:
    """Learns the workspace's permalink form from one answer; asks again only if it must."""

    def __init__(self, client: SlackClient, channel: str, budget: int) -> None:
        self._client = client
        self._channel = channel
        self._budget = budget
        self._base: str | bool | None = None  # None: not learnt; False: no usable form

    async def link(self, ts: str, thread: str | None) -> str | None:
        if isinstance(self._base, str):
            return self._derive(self._base, ts, thread)
        if self._base is False and self._budget <= 0:
            return None
        self._budget -= 1
        answer = await self._client.permalink(self._channel, ts)
        if self._base is None:
            pattern = rf"(https://[^/?#]+/archives/{re.escape(self._channel)}/)p(\d+)(\?.*)?"
            found = re.fullmatch(pattern, answer)
            if found and found.group(2) == ts.replace(".", ""):
                self._base = found.group(1)
            else:
                self._base = False
        return answer

    def _derive(self, base: str, ts: str, thread: str | None) -> str:
        link = f"{base}p{ts.replace('.', '')}"
        if thread and thread != ts:
            link += f"?thread_ts={thread}&cid={self._channel}"
        return link


class SlackChannelHistory:
    """Implements `hub.ports.ChannelHistory` over the Slack Web API."""

    @classmethod
    def from_config(
        cls,
        config: SlackConfig,
        session: aiohttp.ClientSession,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> SlackChannelHistory:
        return cls(
            SlackClient(config, session),
            page_size=config.history_page_size,
            max_wait_seconds=config.history_max_wait_seconds,
            sleep=sleep,
        )

    def __init__(
        self,
        client: SlackClient,
        *,
        page_size: int = 200,
        max_wait_seconds: float = 120,
        max_permalinks: int = 50,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._page_size = page_size
        self._max_wait = max_wait_seconds
        self._max_permalinks = max_permalinks
        self._sleep = sleep
        self._waited = 0.0

    async def read_channel(
        self,
        channel_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int,
    ) -> HistoryRead:
        self._waited = 0.0
        top, truncated = await self._top_level(channel_id, since, until, limit)
        messages = list(top)
        for parent in sorted(top, key=lambda m: float(m["ts"])):
            if not int(parent.get("reply_count") or 0):
                continue
            room = limit - len(messages)
            if room <= 0:
                truncated = True
                break
            replies, cut = await self._thread(channel_id, str(parent["ts"]), room)
            messages += replies
            truncated = truncated or cut
        pinned = await self._pinned(channel_id)
        links = _Permalinks(self._client, channel_id, self._max_permalinks)
        entries = []
        for message in sorted(messages, key=lambda m: float(m["ts"])):
            ts = str(message["ts"])
            link = pinned.get(ts) or await links.link(ts, message.get("thread_ts"))
            entries.append(entry_of(message, link=link, pinned=ts in pinned))
        return HistoryRead(entries=tuple(entries), truncated=truncated)

    async def _top_level(
        self, channel: str, since: datetime | None, until: datetime | None, limit: int
    ) -> tuple[list[JsonDict], bool]:
        found: list[JsonDict] = []
        cursor: str | None = None
        while True:
            wanted = max(1, min(self._page_size, limit - len(found)))
            page, cursor = await self._patiently(
                functools.partial(
                    self._client.history_page,
                    channel,
                    oldest=ts_of(since) or "0",
                    latest=ts_of(until),
                    inclusive=True,
                    cursor=cursor,
                    limit=wanted,
                )
            )
            # Thread replies appear here only when also sent to the channel.
            found += [m for m in page if m.get("ts")]
            if len(found) >= limit:
                return found[:limit], cursor is not None or len(found) > limit
            if cursor is None:
                return found, False

    async def _thread(self, channel: str, ts: str, room: int) -> tuple[list[JsonDict], bool]:
        found: list[JsonDict] = []
        cursor: str | None = None
        while True:
            page, cursor = await self._patiently(
                functools.partial(
                    self._client.replies_page,
                    channel,
                    ts,
                    cursor=cursor,
                    limit=min(self._page_size, 1000),
                )
            )
            # The parent comes first on every page; broadcast replies are in history too.
            found += [
                m for m in page if m.get("ts") != ts and m.get("subtype") != "thread_broadcast"
            ]
            if len(found) >= room:
                return found[:room], cursor is not None or len(found) > room
            if cursor is None:
                return found, False

    async def _pinned(self, channel: str) -> dict[str, str | None]:
        items = await self._patiently(lambda: self._client.pins(channel))
        pinned: dict[str, str | None] = {}
        for item in items:
            message = item.get("message")
            if item.get("type") == "message" and isinstance(message, Mapping) and message.get("ts"):
                link = message.get("permalink")
                pinned[str(message["ts"])] = str(link) if link else None
        return pinned

    async def _patiently(self, call: Callable[[], Awaitable[T]]) -> T:
        """The call, with Slack's 429s waited out while this read's patience lasts."""
        while True:
            try:
                return await call()
            except RateLimited as exc:
                wait = exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER
                if self._waited + wait > self._max_wait:
                    raise
                self._waited += wait
                await self._sleep(wait)
