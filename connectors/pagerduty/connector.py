"""PagerDuty enrichment (`hub.ports.PagerDutyApi`) and incident notes.

PagerDuty webhooks name people by user id only; this fills in who they are (email,
name), who triggered the incident and how, who joined when, and who is primary on call.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from connectors.pagerduty.client import PagerDutyClient
from connectors.pagerduty.config import PagerDutyConfig
from hub.errors import Permanent
from hub.ports import JsonObject

# Expanded in place by PagerDuty: assignees and acknowledgers become full user objects
# (with email), so most incidents need no /users call at all; the trigger log entry
# says who or what opened the incident; the bridge is only sent when asked for.
# (Responders come back as `incidents_responders` without being asked.)
INCIDENT_INCLUDES = ("acknowledgers", "assignees", "conference_bridge", "first_trigger_log_entries")
PRIMARY_ESCALATION_LEVEL = 1
USER_CACHE_MAX_ENTRIES = 1024


class _TtlCache:
    """A small LRU whose entries also expire: people's emails change rarely, not never."""

    def __init__(self, ttl: float, max_entries: int, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, JsonObject]] = OrderedDict()

    def get(self, key: str) -> JsonObject | None:
        hit = self._items.get(key)
        if hit is None:
            return None
        expires, value = hit
        if self._clock() >= expires:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    def put(self, key: str, value: JsonObject) -> None:
        if self._ttl <= 0:
            return
        self._items[key] = (self._clock() + self._ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self._max:
            self._items.popitem(last=False)


def _created_at(entry: JsonObject) -> datetime:
    raw = entry.get("created_at")
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        # An entry without a usable time keeps its place relative to its equals.
        return datetime.min.replace(tzinfo=UTC)


class PagerDutyConnector:
    """Implements `hub.ports.PagerDutyApi`; `add_note` is the write-back a later issue uses."""

    def __init__(
        self,
        client: PagerDutyClient,
        *,
        from_email: str | None = None,
        user_cache_seconds: float = 300,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._from_email = from_email
        self._users = _TtlCache(user_cache_seconds, USER_CACHE_MAX_ENTRIES, clock)

    @classmethod
    def from_config(cls, config: PagerDutyConfig) -> PagerDutyConnector:
        return cls(
            PagerDutyClient(config),
            from_email=config.from_email,
            user_cache_seconds=config.user_cache_seconds,
        )

    async def close(self) -> None:
        await self._client.close()

    async def get_incident(self, incident_id: str) -> JsonObject:
        return await self._client.get_incident(incident_id, INCIDENT_INCLUDES)

    async def list_log_entries(self, incident_id: str) -> Sequence[JsonObject]:
        entries = await self._client.list_log_entries(incident_id)
        # PagerDuty lists newest first; the adapter replays history oldest first.
        # Reversed before the (stable) sort so entries sharing a timestamp also end
        # up oldest first; the sort itself makes this right whatever order came back.
        as_listed_reversed = entries[::-1]
        return tuple(sorted(as_listed_reversed, key=_created_at))

    async def get_user(self, user_id: str) -> JsonObject:
        cached = self._users.get(user_id)
        if cached is not None:
            return cached
        user = await self._client.get_user(user_id)
        self._users.put(user_id, user)
        return user

    async def primary_oncall(self, escalation_policy_id: str) -> JsonObject | None:
        oncalls = await self._client.list_oncalls(escalation_policy_id)
        for oncall in oncalls:
            user: Any = oncall.get("user")
            if oncall.get("escalation_level") == PRIMARY_ESCALATION_LEVEL and user:
                return dict(user)
        return None

    async def add_note(self, incident_id: str, content: str, from_email: str | None = None) -> str:
        """POST /incidents/{id}/notes; returns the note id.

        PagerDuty requires `From:` to name a user of the account: the note is shown as
        theirs. Not idempotent (notes have no client key), so a caller retrying after an
        unknown outcome must look for its note first.
        """
        sender = from_email or self._from_email
        if not sender:
            raise Permanent("PagerDuty notes need a From: email; set from_email for PagerDuty")
        note = await self._client.create_note(incident_id, content, sender)
        note_id = note.get("id")
        if not isinstance(note_id, str):
            raise Permanent("PagerDuty created a note but its answer carries no id")
        return note_id

    async def list_notes(self, incident_id: str) -> Sequence[JsonObject]:
        """GET /incidents/{id}/notes, oldest first: how a retry finds a note it already added."""
        return tuple(await self._client.list_notes(incident_id))
