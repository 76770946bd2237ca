"""Reading an incident's history for its post-mortem document: the I/O half of the timeline.

The pure half (`hub.policy.people.assemble`) orders, merges and filters what is read
here. What is read, for one incident:

* its incident tool's own log: PagerDuty's log entries (and responder requests), or
  incident.io's activity log, at most `timeline.max_entries` entries;
* a Slack channel: the incident's own (incident.io makes one) from its start, else the
  policy's `timeline.channel` from `timeline.channel_lead` before the incident started;
* for the people pmhub knows by email, their Slack user ids (through the chat
  connector), so that a Slack message and a PagerDuty entry by the same person are
  one responder.

A source pmhub may not read (not invited to the channel, the channel archived, no API
key configured) is skipped and named in the document. Each read is idempotent and one
document needs many (log pages, channel history, user look-ups), so a read that fails
for a moment is tried again at once, a few times (`READ_TRIES`), before its failure
fails the attempt: otherwise one blip in fifteen calls throws away the fourteen that
succeeded, and a vendor failing a share of its calls would hold the document back for
long (RELIABILITY.md, scenario C). A vendor that stays down, or rate-limits for longer
than a moment, raises, and the job retries the whole read later.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import structlog

from hub.errors import Permanent, RateLimited, Transient
from hub.model.history import HistoryEntry
from hub.model.incident import Incident, Person, Source
from hub.policy.durations import Elapsed
from hub.policy.people import History
from hub.policy.schema_document import TimelineSpec
from hub.ports import ChannelHistory, IncidentLog

log = structlog.get_logger("pmhub.history")
MAX_LOOKUPS = 50  # Slack user look-ups per read (cached by the chat connector)
READ_TRIES = 3  # tries of one read within an attempt
PATIENCE_SECONDS = 2.0  # a Retry-After longer than this is the job's to wait out, not ours
T = TypeVar("T")


async def patiently(read: Callable[[], Awaitable[T]]) -> T:
    """`read()`, tried again at once (after a short pause) when it fails for a moment."""
    for attempt in range(1, READ_TRIES + 1):
        try:
            return await read()
        except Transient as exc:
            pause = exc.retry_after if isinstance(exc, RateLimited) else 0.2 * 2 ** (attempt - 1)
            if attempt == READ_TRIES or (pause or 0.0) > PATIENCE_SECONDS:
                raise
            log.info("history.read_again", error=str(exc), attempt=attempt)
            await asyncio.sleep(pause or 0.5)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


ChatUser = Callable[[Person], Awaitable[str | None]]


@dataclass(frozen=True)
class HistoryReaders:
    """The readers the configuration allows (any may be missing)."""

    pagerduty: IncidentLog | None = None
    incidentio: IncidentLog | None = None
    slack: ChannelHistory | None = None
    chat_user: ChatUser | None = None

    async def read(self, incident: Incident, spec: TimelineSpec) -> History:
        entries: list[HistoryEntry] = []
        read: list[str] = []
        cut: list[str] = []
        unread: list[str] = []
        log_reader = self.pagerduty if incident.source is Source.PAGERDUTY else self.incidentio
        tool = incident.source.value
        if log_reader is None:
            unread.append(f"{tool}: no API access is configured")
        else:
            try:
                reader = log_reader
                found = await patiently(
                    lambda: reader.read_log(incident.source_id, limit=spec.max_entries)
                )
            except Permanent as refusal:
                unread.append(f"{tool}: {refusal.reason}")
            else:
                entries += found.entries
                read.append(tool)
                if found.truncated:
                    cut.append(tool)
        channel, since = _channel(incident, spec)
        if channel is not None:
            if self.slack is None:
                unread.append("slack: the Slack connector is not configured")
            else:
                try:
                    slack = self.slack
                    chat = await patiently(
                        lambda: slack.read_channel(channel, since=since, limit=spec.max_entries)
                    )
                except Permanent as refusal:
                    unread.append(f"slack: {refusal.reason}")
                else:
                    entries += chat.entries
                    read.append("slack")
                    if chat.truncated:
                        cut.append("slack")
        slack_ids = await self._slack_ids(incident, entries) if "slack" in read else {}
        log.info("history.read", read=read, cut=cut, unread=unread, entries=len(entries))
        return History(tuple(entries), tuple(read), tuple(cut), tuple(unread), slack_ids)

    async def _slack_ids(self, incident: Incident, entries: list[HistoryEntry]) -> dict[str, str]:
        """email -> Slack user id, for the people the incident and its log name."""
        if self.chat_user is None:
            return {}
        emails: dict[str, Person] = {}
        people = [
            incident.incident_commander,
            incident.reporter,
            incident.manual_trigger,
            incident.primary_oncall,
            *incident.assignees,
            *(a.person for a in incident.acknowledgers),
            *(r.person for r in incident.responders),
            *(h.person for h in incident.roles),
        ]
        for person in people:
            if person is not None and person.email and not person.slack_id:
                emails.setdefault(person.email.lower(), person)
        for entry in entries:
            for actor in (entry.actor, entry.subject):
                if actor is not None and actor.email and not actor.is_bot:
                    emails.setdefault(actor.email.lower(), Person(email=actor.email))
        found: dict[str, str] = {}
        chat_user = self.chat_user
        for email, person in list(emails.items())[:MAX_LOOKUPS]:
            slack_id = await patiently(functools.partial(chat_user, person))
            if slack_id:
                found[email] = slack_id
        return found


def _channel(incident: Incident, spec: TimelineSpec) -> tuple[str | None, datetime | None]:
    """The channel to read and from when: the incident's own whole, or the policy's."""
    own = incident.links.slack_channel_id
    if own:
        return own, None
    if spec.channel is None:
        return None, None
    start = incident.created_at
    lead = spec.channel_lead.delta if isinstance(spec.channel_lead, Elapsed) else None
    return spec.channel, (start - lead if start is not None and lead is not None else start)
