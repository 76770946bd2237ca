"""Slack's side of the announcement roll-up (`hub.ports.rollup`): lines, post, edit.

The engine decides when announcements share a message and stores the roll-up; this
mixin renders it (`rollup_messages`) and delivers it. Edits go through the
connector's `update_paced`, which keeps chat.update inside its published limit
(Tier 3, 50+ a minute per workspace).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from connectors.slack.notifier_core import NotifierCore, parse_ref, ref_text
from connectors.slack.rollup_messages import (
    ROLLUP_MAX_LINES,
    announcement_line,
    rollup_message,
)
from hub.errors import Permanent
from hub.model.incident import Incident, Person
from hub.model.postmortem import PostMortem


class RollupNotices(NotifierCore):
    @property
    def rollup_max_lines(self) -> int:
        return ROLLUP_MAX_LINES

    def rollup_channel(self, incident: Incident) -> str | None:
        own = incident.links.slack_channel_id
        if own and own != self._config.incidents_channel:
            return None  # its own channel is where its people are: told there, one by one
        return self._config.incidents_channel

    async def announcement_line(
        self,
        incident: Incident,
        postmortem: PostMortem | None,
        owner: Person,
        *,
        deadline: datetime | None,
        previous_owner: Person | None = None,
    ) -> str:
        return announcement_line(
            incident,
            postmortem,
            owner,
            deadline=deadline,
            people=await self.people(owner),
            previous_owner=previous_owner,
        )

    async def post_rollup(
        self, channel: str, lines: Sequence[str], *, effect_key: str, unknown_outcome: bool
    ) -> str:
        message = rollup_message(lines)
        posted = await self._chat.post(
            channel, message, effect_key=effect_key, unknown_outcome=unknown_outcome
        )
        return ref_text(posted)

    async def update_rollup(self, ref: str, lines: Sequence[str]) -> str:
        target = parse_ref(ref)
        if target is None:
            raise Permanent(f"not a Slack message reference: {ref!r}")
        return ref_text(await self._chat.update_paced(target, rollup_message(lines)))
