"""What happened during an incident, read back from the tools it happened in.

Readers turn each vendor's history (PagerDuty log entries, incident.io's activity log,
the incident's Slack channel) into plain `HistoryEntry` records (`hub.model.history`,
re-exported here), so that the pure timeline assembler (`hub.policy.timeline`) can
merge, order, de-duplicate and filter them by the policy's noise rules without knowing
any vendor. Readers keep everything (bots, joins, every log entry type); deciding what
is noise is the policy's job.

How the engine uses them (`hub.engine.history`)::

    pd = await paging_log.read_log(incident.source_id, limit=policy.timeline.max_entries)
    chat = await channel_history.read_channel(channel, since=..., limit=...)
    assembled = assemble(pd.entries + chat.entries, ...)     # pure: hub.policy.timeline
    if pd.truncated or chat.truncated: ...                   # the document says so

Every method raises only `hub.errors` types.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from hub.model.history import (
    Actor,
    EntryKind,
    HistoryEntry,
    HistoryRead,
    HistorySource,
)

__all__ = [
    "Actor",
    "ChannelHistory",
    "EntryKind",
    "HistoryEntry",
    "HistoryRead",
    "HistorySource",
    "IncidentLog",
]


class IncidentLog(Protocol):
    """An incident tool's own log of the incident (PagerDuty, incident.io)."""

    async def read_log(self, incident_id: str, *, limit: int) -> HistoryRead:
        """Every entry of the incident's log, oldest first, at most `limit` of them (the
        oldest: these logs page oldest first); `truncated` when there were more."""
        ...


class ChannelHistory(Protocol):
    """A chat channel's history (Slack): messages, thread replies, joins, pins, reactions."""

    async def read_channel(
        self,
        channel_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int,
    ) -> HistoryRead:
        """Messages and their thread replies between `since` and `until` (both included),
        oldest first, at most `limit` of them. Slack pages newest first, so a cut read
        keeps the newest messages; `truncated` says so (narrow the window to see more)."""
        ...
