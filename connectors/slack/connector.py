"""The Slack Web API as `SlackNotifier` uses it: people, DMs, posts, edits, replies, modals.

Exactly once without an idempotency key: every post carries its effect key in
Slack message metadata (`event_type: pmhub_effect`). When the engine does not know
whether an earlier attempt got through (a timeout, a dropped connection, a crash
before the ledger was written), it says so with `unknown_outcome=True`, and `post`
reads the channel's recent history for that key before posting again. The check
is not made on every post: it costs a history call, and after a *known* failure
(a 429, an error answer) Slack stored nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from connectors.common.pacer import KeyedPacer, Pacer
from connectors.common.ttl_cache import TtlCache
from connectors.slack.blocks import ChatMessage
from connectors.slack.client import (
    EXCHANGED_TRIGGER,
    MessageRef,
    SlackClient,
    TriggerSpent,
    effect_key_of,
    metadata_for,
)
from connectors.slack.config import SlackConfig
from hub.errors import RateLimited

CACHE_MAX_ENTRIES = 4096
# Someone without a Slack account may get one today: ask again sooner than for a hit.
NOT_FOUND_CACHE_SECONDS = 300.0
HISTORY_PAGE_SIZE = 200  # Slack allows up to 999; 200 keeps each answer small
DEFAULT_RETRY_AFTER = 1.0
# chat.update is Tier 3: "50+ per minute" per workspace. 1.2 s apart is 50 a minute.
UPDATE_INTERVAL_SECONDS = 1.2
# The workspace's lane for chat.update in the connector's pacer (whose other lanes are
# channels: no channel id looks like this).
UPDATE_PACE_KEY = "workspace:chat.update"


def is_user_id(target: str) -> bool:
    """Slack user ids start with U (or W on Enterprise Grid); channels with C, G or D."""
    return target[:1] in ("U", "W")


class SlackConnector:
    """Delivers chat messages on the Slack Web API, exactly once per effect key."""

    def __init__(
        self,
        client: SlackClient,
        *,
        post_interval_seconds: float = 1.0,
        user_cache_seconds: float = 3600,
        find_window_seconds: float = 7 * 24 * 3600,
        find_max_pages: int = 5,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        pacer: Pacer | None = None,
    ) -> None:
        self._client = client
        # Given by the wiring when replicas share the channel's pace (PostgreSQL).
        self._pacer: Pacer = (
            pacer if pacer is not None else KeyedPacer(post_interval_seconds, clock=clock)
        )
        self._user_ttl = user_cache_seconds
        self._users: TtlCache[str | None] = TtlCache(user_cache_seconds, CACHE_MAX_ENTRIES, clock)
        # A DM channel id never changes for a (bot, user) pair.
        self._dms: TtlCache[str] = TtlCache(float("inf"), CACHE_MAX_ENTRIES, clock)
        self._find_window = find_window_seconds
        self._find_max_pages = find_max_pages
        self._wall_clock = wall_clock

    @classmethod
    def from_config(
        cls, config: SlackConfig, session: aiohttp.ClientSession, *, pacer: Pacer | None = None
    ) -> SlackConnector:
        """`pacer`: one shared by every replica (see `connectors.common.pacer`)."""
        return cls(
            SlackClient(config, session),
            post_interval_seconds=config.post_interval_seconds,
            user_cache_seconds=config.user_cache_seconds,
            find_window_seconds=config.find_window_seconds,
            find_max_pages=config.find_max_pages,
            pacer=pacer,
        )

    async def lookup_user(self, email: str) -> str | None:
        key = email.strip().lower()
        found, user_id = self._users.lookup(key)
        if found:
            return user_id
        user_id = await self._client.lookup_user_by_email(email.strip())
        ttl = None if user_id else min(NOT_FOUND_CACHE_SECONDS, self._user_ttl)
        self._users.put(key, user_id, ttl=ttl)
        return user_id

    async def open_dm(self, user_id: str) -> str:
        found, channel = self._dms.lookup(user_id)
        if found and channel:
            return channel
        channel = await self._client.open_im(user_id)
        self._dms.put(user_id, channel)
        return channel

    async def post(
        self,
        channel: str,
        message: ChatMessage,
        *,
        effect_key: str,
        unknown_outcome: bool = False,
    ) -> MessageRef:
        # A DM is posted to its D… channel, not the user id, so that history (and so
        # `find_posted`) and pacing see one channel whichever way it was named.
        target = await self.open_dm(channel) if is_user_id(channel) else channel
        if unknown_outcome:
            earlier = await self.find_posted(target, effect_key)
            if earlier is not None:
                return earlier
        async with self._pacer.turn(target):
            try:
                return await self._client.post_message(
                    target,
                    text=message.text,
                    blocks=message.blocks,
                    metadata=metadata_for(effect_key),
                )
            except RateLimited as exc:
                # Hold back every other post to this channel too, not just this job's retry.
                await self._pacer.defer(target, exc.retry_after or DEFAULT_RETRY_AFTER)
                raise

    async def update(self, ref: MessageRef, message: ChatMessage) -> MessageRef:
        # Metadata is left as it is: the edited message still answers for its effect key.
        return await self._client.update_message(ref, text=message.text, blocks=message.blocks)

    async def update_paced(self, ref: MessageRef, message: ChatMessage) -> MessageRef:
        """`update`, spaced to keep the workspace's chat.update calls within Tier 3.

        Every edit pmhub makes goes through here (roll-ups, and the DMs and announcements
        brought up to date when a meeting is booked or an owner changes): a storm
        multiplies them all. They take turns in the connector's pacer, on one
        workspace-wide key at chat.update's own interval, so replicas sharing the pacer's
        ledger (PostgreSQL) keep Tier 3 together instead of each sending its own 50 a
        minute (the bench's storm at N=100 drew 413 to 529 refusals of chat.update when
        only the roll-ups were paced).
        """
        async with self._pacer.turn(UPDATE_PACE_KEY, interval=UPDATE_INTERVAL_SECONDS):
            try:
                return await self.update(ref, message)
            except RateLimited as exc:
                await self._pacer.defer(UPDATE_PACE_KEY, exc.retry_after or DEFAULT_RETRY_AFTER)
                raise

    async def find_posted(self, channel: str, effect_key: str) -> MessageRef | None:
        target = await self.open_dm(channel) if is_user_id(channel) else channel
        oldest = f"{self._wall_clock() - self._find_window:.6f}"
        cursor: str | None = None
        for _ in range(self._find_max_pages):
            messages, cursor = await self._client.history_page(
                target, oldest=oldest, cursor=cursor, limit=HISTORY_PAGE_SIZE
            )
            for item in messages:
                if effect_key_of(item) == effect_key and isinstance(item.get("ts"), str):
                    return MessageRef(channel=target, ts=item["ts"])
            if cursor is None:
                break
        # Bounded on purpose (window and pages): an effect older or buried deeper than
        # that is treated as never posted, which at worst repeats one message.
        return None

    async def respond(
        self,
        response_url: str,
        message: ChatMessage,
        *,
        ephemeral: bool = True,
        replace_original: bool = False,
    ) -> None:
        body: dict[str, object] = {
            "text": message.text,
            "response_type": "ephemeral" if ephemeral else "in_channel",
            "replace_original": replace_original,
        }
        if message.blocks:
            body["blocks"] = [dict(block) for block in message.blocks]
        await self._client.respond(response_url, body)

    async def open_view(self, trigger_id: str, view: Mapping[str, Any]) -> bool:
        """Open a modal with the trigger of a button press or command.

        True when it is open: now, or by an earlier attempt with the same trigger (Slack
        then answers `exchanged_trigger_id`; a retry after a lost answer lands there).
        False when the trigger expired (Slack honours one for 3 seconds): the caller
        answers some other way. Never paced: views are not channel posts.
        """
        try:
            await self._client.open_view(trigger_id, view)
        except TriggerSpent as spent:
            return spent.error == EXCHANGED_TRIGGER
        return True
