"""The plumbing every Slack message of pmhub's goes through: who is reachable, and how.

A person Slack knows is told in a DM; anyone else (no account, a user group, nobody
named) in the incidents channel, by name. A message pmhub keeps true is edited in
place, never said twice. The message families (`notifier_meetings`,
`notifier_lifecycle`, `notifier`) build on this class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import structlog

from connectors.slack.blocks import ChatMessage, is_group_id
from connectors.slack.client import MessageRef
from connectors.slack.config import SlackConfig
from connectors.slack.connector import SlackConnector
from hub.errors import Permanent
from hub.model.incident import Person

People = dict[str, str | None]
log = structlog.get_logger("pmhub.slack")


def ref_text(ref: MessageRef) -> str:
    """A posted message as one string for the effects ledger: `channel/ts`."""
    return f"{ref.channel}/{ref.ts}"


def parse_ref(text: str | None) -> MessageRef | None:
    """`ref_text` read back; None for anything that is not one message's reference."""
    if not text or "," in text:  # several messages (a reminder to many) are not one
        return None
    channel, _, ts = text.partition("/")
    return MessageRef(channel=channel, ts=ts) if channel and ts else None


class NotifierCore:
    """A `SlackConnector` and its configuration, and the ways to reach people with them."""

    def __init__(self, chat: SlackConnector, config: SlackConfig) -> None:
        self._chat, self._config = chat, config

    def routed(self, *, channel: str | None = None, review_channel: str | None = None) -> Self:
        """The same connection, with a team's channels in place of the configured ones."""
        update: dict[str, str] = {}
        if channel is not None:
            update["incidents_channel"] = channel
        if review_channel is not None:
            update["postmortem_channel"] = review_channel
        if not update:
            return self
        return type(self)(self._chat, self._config.model_copy(update=update))

    async def people(self, *persons: Person | None) -> People:
        """`Person.key` → Slack user id (None: no account), as the message builders take it."""
        found: People = {}
        for person in persons:
            if person is not None and person.key not in found:
                found[person.key] = await self.chat_user(person)
        return found

    async def chat_user(self, person: Person) -> str | None:
        if person.slack_id:
            return person.slack_id
        if not person.email:
            return None
        try:
            return await self._chat.lookup_user(person.email)
        except Permanent as exc:
            # A look-up Slack refuses for good (a missing scope, an odd address) is an
            # enrichment that failed: the person is named in the channel instead of DMed,
            # and the message still goes out. Retryable failures are retried by the job.
            log.warning("slack.lookup_failed", error=str(exc))
            return None

    async def _to_person(
        self, person: Person, message: ChatMessage, key: str, unknown: bool
    ) -> MessageRef:
        """A DM when Slack knows the person; else the incidents channel, where they are named."""
        channel = await self._target(person)
        return await self._chat.post(channel, message, effect_key=key, unknown_outcome=unknown)

    async def _to_channel(self, channel: str, message: ChatMessage, key: str, unknown: bool) -> str:
        ref = await self._chat.post(channel, message, effect_key=key, unknown_outcome=unknown)
        return ref_text(ref)

    async def _kept(
        self, target: str, message: ChatMessage, key: str, unknown: bool, earlier: str | None
    ) -> str:
        """Say `message` in a message pmhub keeps true: edited in place, never said twice.

        `earlier` (what an earlier version of this effect posted) is edited with
        `chat.update`; repeating an edit is harmless, so an edit whose outcome was lost
        is simply made again. Without one, it is posted, and after an unknown outcome
        the post found by its key is brought up to date rather than left as it was.
        If Slack refuses an edit for good (the message was deleted, or edits are no
        longer allowed), it is posted anew: the person should still learn what changed.
        """
        candidates = [parse_ref(earlier)]
        if unknown:
            candidates.append(await self._chat.find_posted(target, key))
        for ref in candidates:
            if ref is None:
                continue
            try:
                return ref_text(await self._chat.update_paced(ref, message))
            except Permanent:
                continue
        return ref_text(await self._chat.post(target, message, effect_key=key))

    async def _target(self, person: Person | None) -> str:
        """Where a person is told: their DM, or the incidents channel that names them (a
        user group, someone Slack does not know, or nobody at all)."""
        slack_id = await self.chat_user(person) if person is not None else None
        if slack_id is None or is_group_id(slack_id):
            return self._config.incidents_channel
        return slack_id

    async def _to_each(
        self,
        recipients: Sequence[Person],
        people: People,
        message: ChatMessage,
        effect_key: str,
        unknown: bool,
    ) -> str:
        """A DM to each recipient Slack knows (one key each); the channel, naming the
        others, when someone cannot be DMed or nobody is named."""
        refs: list[str] = []
        unreachable = False
        for person in recipients:
            if people.get(person.key) is None:
                unreachable = True
                continue
            key = f"{effect_key}/to:{person.key}"
            refs.append(ref_text(await self._to_person(person, message, key, unknown)))
        if unreachable or not recipients:
            channel, key = self._config.incidents_channel, f"{effect_key}/channel"
            refs.append(await self._to_channel(channel, message, key, unknown))
        return ",".join(refs)
