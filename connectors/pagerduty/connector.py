"""PagerDuty enrichment (`hub.ports.PagerDutyApi`) and incident notes.

PagerDuty webhooks name people by user id only; this fills in who they are (email,
name), who triggered the incident and how, who joined when, and who is primary on call.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from connectors.common.ttl_cache import TtlCache
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
V = TypeVar("V")
ONCALL_CACHE_MAX_ENTRIES = 1024  # escalation policies: an account has tens, rarely thousands
# The incidents whose last read (incident and whole log) is kept for the post-mortem's
# timeline, written soon after the resolution that read them. Bounded: at most 128
# incidents of at most one page (100) of entries; as Python objects an entry is ~4 KB,
# so ~50 MB in the worst case and ~5 MB for typical logs of a few entries.
RECENT_READS_MAX_INCIDENTS = 128
RECENT_READ_MAX_ENTRIES = 100  # a longer log is not kept: the timeline reads it itself
RECENT_READ_SECONDS = 300.0


@dataclass(frozen=True)
class RecentRead:
    """An incident and its whole log (oldest first) as last read: the timeline's input."""

    incident: JsonObject
    log_entries: tuple[JsonObject, ...]


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


class _Coalesced(Generic[V]):
    """Concurrent reads of one key share the first one's answer (or its failure)."""

    def __init__(self) -> None:
        self._pending: dict[str, asyncio.Future[V]] = {}

    async def once(self, key: str, read: Callable[[], Awaitable[V]]) -> V:
        pending = self._pending.get(key)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this caller was cancelled
                return await self.once(key, read)  # the reader was: read for ourselves
        pending = asyncio.get_running_loop().create_future()
        self._pending[key] = pending
        try:
            value = await read()
        except Exception as exc:
            pending.set_exception(exc)  # those waiting fail alike; the next caller reads
            pending.exception()  # retrieved: nobody waiting is not an unhandled error
            raise
        except BaseException:
            pending.cancel()
            raise
        else:
            pending.set_result(value)
        finally:
            del self._pending[key]
        return value


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
        oncall_cache_seconds: float = 60,
        recent_read_seconds: float = RECENT_READ_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._from_email = from_email
        self._users = _TtlCache(user_cache_seconds, USER_CACHE_MAX_ENTRIES, clock)
        # Who is primary on call changes with the schedule's shifts (hours), not per
        # incident: a storm on one policy asks once per TTL. A cached None is kept too.
        self._oncalls: TtlCache[JsonObject | None] = TtlCache(
            oncall_cache_seconds, ONCALL_CACHE_MAX_ENTRIES, clock
        )
        # Incidents of a storm ask for the same policy and people side by side.
        self._oncall_reads: _Coalesced[JsonObject | None] = _Coalesced()
        self._user_reads: _Coalesced[JsonObject] = _Coalesced()
        # What the enrichment read at the resolution, for the timeline read minutes later.
        # Each later read of the incident (a change the enrichment saw) replaces it.
        self._incidents: TtlCache[JsonObject] = TtlCache(
            recent_read_seconds, RECENT_READS_MAX_INCIDENTS, clock
        )
        # None: the log is longer than is kept (or no longer known whole): read it.
        self._logs: TtlCache[tuple[JsonObject, ...] | None] = TtlCache(
            recent_read_seconds, RECENT_READS_MAX_INCIDENTS, clock
        )

    @classmethod
    def from_config(cls, config: PagerDutyConfig) -> PagerDutyConnector:
        return cls(
            PagerDutyClient(config),
            from_email=config.from_email,
            user_cache_seconds=config.user_cache_seconds,
            oncall_cache_seconds=config.oncall_cache_seconds,
        )

    @property
    def client(self) -> PagerDutyClient:
        return self._client

    async def close(self) -> None:
        await self._client.close()

    async def get_incident(self, incident_id: str) -> JsonObject:
        incident = await self._client.get_incident(incident_id, INCIDENT_INCLUDES)
        self._incidents.put(incident_id, incident)
        return incident

    def recent_read(self, incident_id: str) -> RecentRead | None:
        """The incident and its whole log as this process last read them, if recently."""
        _, incident = self._incidents.lookup(incident_id)
        _, log = self._logs.lookup(incident_id)
        if incident is None or log is None:
            return None
        return RecentRead(incident, log)

    async def list_log_entries(
        self, incident_id: str, since: datetime | None = None
    ) -> Sequence[JsonObject]:
        """The incident's log, oldest first; only the entries created at or after `since`
        when given (PagerDuty's `since`: a caller that has the older ones reads less)."""
        after = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if since else None
        entries = await self._client.list_log_entries(incident_id, since=after)
        # PagerDuty lists newest first; the adapter replays history oldest first.
        # Reversed before the (stable) sort so entries sharing a timestamp also end
        # up oldest first; the sort itself makes this right whatever order came back.
        as_listed_reversed = entries[::-1]
        oldest_first = tuple(sorted(as_listed_reversed, key=_created_at))
        self._keep_log(incident_id, oldest_first, whole=since is None)
        return oldest_first

    def _keep_log(self, incident_id: str, entries: tuple[JsonObject, ...], *, whole: bool) -> None:
        """The whole log for `recent_read`: as read, or the part since added to the kept one."""
        if not whole:
            _, kept = self._logs.lookup(incident_id)
            if kept is None:
                return  # no whole log to add to (read by another replica, or forgotten)
            seen = {entry.get("id") for entry in kept}
            added = [entry for entry in entries if entry.get("id") not in seen]
            entries = tuple(sorted((*kept, *added), key=_created_at))
        # Too long to keep: forget the shorter one kept before, it is no longer the log.
        self._logs.put(incident_id, entries if len(entries) <= RECENT_READ_MAX_ENTRIES else None)

    async def get_user(self, user_id: str) -> JsonObject:
        cached = self._users.get(user_id)
        if cached is not None:
            return cached
        user = await self._user_reads.once(user_id, lambda: self._client.get_user(user_id))
        self._users.put(user_id, user)
        return user

    async def primary_oncall(self, escalation_policy_id: str) -> JsonObject | None:
        found, cached = self._oncalls.lookup(escalation_policy_id)
        if found:
            return cached
        primary = await self._oncall_reads.once(
            escalation_policy_id, lambda: self._read_primary_oncall(escalation_policy_id)
        )
        self._oncalls.put(escalation_policy_id, primary)
        return primary

    async def _read_primary_oncall(self, escalation_policy_id: str) -> JsonObject | None:
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
