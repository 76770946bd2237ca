"""AnnouncementRollups: a chat platform that can gather announcements into one message.

In a storm the incidents channel cannot carry one post per post-mortem; the engine
then keeps a roll-up (one message, a line per post-mortem) and asks the chat side,
through this port, for the words of a line, to post a roll-up and to edit it. The
engine decides when to coalesce and stores the roll-up; the platform only renders
and delivers. Exactly once as in `hub.ports.notify`: a post carries its key and,
after an unknown outcome, the earlier post is looked for before posting again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from hub.model.incident import Incident, Person
from hub.model.postmortem import PostMortem


@runtime_checkable
class AnnouncementRollups(Protocol):
    """Implemented by a `Notifier` whose announcements can share one message."""

    @property
    def rollup_max_lines(self) -> int:
        """How many lines one roll-up message can hold (the platform's message limits)."""
        ...

    def rollup_channel(self, incident: Incident) -> str | None:
        """Where the incident's announcement would be coalesced; None: it has a channel
        of its own (told there one message at a time, as ever)."""
        ...

    async def announcement_line(
        self,
        incident: Incident,
        postmortem: PostMortem | None,
        owner: Person,
        *,
        deadline: datetime | None,
        previous_owner: Person | None = None,
    ) -> str:
        """The post-mortem's line in a roll-up (owner, meeting, status)."""
        ...

    async def post_rollup(
        self, channel: str, lines: Sequence[str], *, effect_key: str, unknown_outcome: bool
    ) -> str:
        """Post a roll-up holding `lines`; its reference (as the ledger stores it)."""
        ...

    async def update_rollup(self, ref: str, lines: Sequence[str]) -> str:
        """Edit the posted roll-up `ref` to hold `lines`, within the platform's edit limits."""
        ...
