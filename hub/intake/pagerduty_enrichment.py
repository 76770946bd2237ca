"""PagerDuty enrichment for the `ingest` job: read the REST API only when a delivery needs it.

A PagerDuty incident sends a delivery per change (triggered, acknowledged, resolved, a
note, a responder...). Each V3 webhook already carries the incident as of its event
(status, priority, title, service, escalation policy, assignees by id, the agent), so
what the REST API adds is what a post-mortem needs of the whole life: the acknowledgement
and assignment history, who triggered it, resolve notes (the log), the responders who
joined and the final state (the incident with its includes). Read on every delivery,
that is 9 requests an incident; read when it is needed:

* the incident and its log are read when a delivery says the incident is resolved (or
  declined: merged away), and again only for a delivery newer than that read on an
  incident the read found resolved (a note, a reopening) - then the log only `since`
  the last read, the older entries' facts being merged already;
* a delivery the last read already covers (a redelivery, a late `triggered`) reads
  nothing: the read happened after its event, so it holds at least what it says;
* the emails of the people named and the escalation policy's primary on-call are looked
  up on every delivery, through the connector's caches (users, on-calls per policy).

One resolved incident is thus 2 incident reads (+ the on-call, once per policy per TTL,
+ users, once per user per TTL). What was read is remembered per incident only once the
delivery's facts are merged (`remember`), so a failed merge is read again by its retry.
The memory is bounded (least recently used incidents are forgotten: they read again).
Each replica remembers its own reads; another replica's delivery reads in full.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from hub.intake.adapters import AdapterOptions
from hub.intake.adapters.pagerduty_rest import (
    incident_update,
    log_entry_updates,
    people_to_look_up,
    primary_oncall_update,
    user_update,
)
from hub.intake.merge import merge
from hub.intake.reads import optional_read, read
from hub.model.incident import Incident, IncidentStatus, Person, Source
from hub.model.incident_record import IncidentRecord, IncidentUpdate
from hub.ports import PagerDutyApi

FINAL = frozenset({IncidentStatus.RESOLVED.value, IncidentStatus.DECLINED.value})
# PagerDuty stamps webhooks and log entries with its own clocks; a log read `since` the
# last read starts this much earlier, re-reading a few entries (merging is idempotent)
# rather than missing one whose stamp lags the webhook's.
SINCE_MARGIN = timedelta(minutes=1)
MAX_REMEMBERED = 10_000  # incidents; ~200 bytes each


@dataclass(frozen=True)
class ReadMark:
    """The last REST read of one incident: taken after `covers`, and what it found."""

    incident_id: str
    covers: datetime
    resolved: bool


@dataclass(frozen=True)
class Enriched:
    updates: tuple[IncidentUpdate, ...]
    mark: ReadMark | None  # to `remember` once the updates are merged


class PagerDutyEnrichment:
    def __init__(
        self,
        api: PagerDutyApi,
        options: AdapterOptions,
        clock: Callable[[], datetime],
        *,
        always: bool = False,
        max_remembered: int = MAX_REMEMBERED,
    ) -> None:
        self._api, self._options, self._clock = api, options, clock
        self._always = always
        self._marks: OrderedDict[str, ReadMark] = OrderedDict()
        self._max = max_remembered

    def remember(self, marks: Sequence[ReadMark]) -> None:
        for mark in marks:
            known = self._marks.get(mark.incident_id)
            if known is None or known.covers <= mark.covers:
                self._marks[mark.incident_id] = mark
            self._marks.move_to_end(mark.incident_id)
        while len(self._marks) > self._max:
            self._marks.popitem(last=False)

    def needs_read(self, delivered: IncidentUpdate) -> bool:
        if self._always:
            return True
        mark = self._marks.get(delivered.source_id)
        if mark is not None and delivered.at <= mark.covers:
            return False  # read after this event: it holds at least what the event says
        if delivered.fields.get("status") in FINAL:
            return True  # the post-mortem's facts: the whole log and the final state
        return mark is not None and mark.resolved  # a change after the resolution

    async def enrich(self, delivered: IncidentUpdate) -> Enriched:
        """REST facts completing one delivery's update (the update itself not included)."""
        incident_id = delivered.source_id
        found: list[IncidentUpdate] = []
        mark: ReadMark | None = None
        if self.needs_read(delivered):
            found, mark = await self._read_incident(delivered)
        found += await self._people(incident_id, [delivered, *found])
        return Enriched(tuple(found), mark)

    async def _read_incident(
        self, delivered: IncidentUpdate
    ) -> tuple[list[IncidentUpdate], ReadMark]:
        api, options, incident_id = self._api, self._options, delivered.source_id
        found: list[IncidentUpdate] = []
        incident = await read(
            f"pagerduty:incident:{incident_id}", lambda: api.get_incident(incident_id)
        )
        snapshot = incident_update(incident, options.severity_map, options.pagerduty)
        if snapshot is not None:
            found.append(snapshot)
        last = self._marks.get(incident_id)
        since = last.covers - SINCE_MARGIN if last is not None else None
        key = f"pagerduty:log_entries:{incident_id}"
        if since is not None:
            key += f":since:{since.isoformat()}"
        entries = await read(key, lambda: api.list_log_entries(incident_id, since))
        found += log_entry_updates(incident_id, entries, options.pagerduty)
        covers = max(delivered.at, last.covers) if last is not None else delivered.at
        resolved = snapshot is not None and snapshot.fields.get("status") in FINAL
        return found, ReadMark(incident_id, covers, resolved)

    async def _people(
        self, incident_id: str, known: Sequence[IncidentUpdate]
    ) -> list[IncidentUpdate]:
        """Emails of everyone named, and the primary on-call, which webhooks never carry."""
        api = self._api
        draft: IncidentRecord | None = None
        for fact in known:
            draft = merge(draft, fact).record
        if draft is None:
            return []
        incident, at = draft.incident, self._clock()
        found: list[IncidentUpdate] = []
        # The on-call first: it names a user whose email the look-ups below then find.
        if incident.escalation_policy_id and incident.primary_oncall is None:
            policy = incident.escalation_policy_id
            oncall = await optional_read(
                f"pagerduty:oncall:{policy}", lambda: api.primary_oncall(policy), "oncall"
            )
            if oncall is not None and (
                update := primary_oncall_update(incident_id, oncall, incident.created_at or at)
            ):
                found.append(update)
                draft = merge(draft, update).record
        # A person named twice (the on-call who also acknowledged, with the email the
        # incident's includes carry) needs no look-up: what is known is filed for both.
        emailed = _emailed_people(draft.incident)
        for user_id in people_to_look_up(draft.incident):
            if (person := emailed.get(user_id)) is not None:
                found.append(directory_update(incident_id, person, at))
                continue
            user = await optional_read(
                f"pagerduty:user:{user_id}", partial(api.get_user, user_id), "user"
            )
            if user is not None and (update := user_update(incident_id, user, at)) is not None:
                found.append(update)
        return found


def _emailed_people(incident: Incident) -> dict[str, Person]:
    """PagerDuty user id -> the person as known with an email, from anywhere on the incident."""
    people: list[Person | None] = [
        incident.incident_commander,
        incident.manual_trigger,
        incident.primary_oncall,
        *incident.assignees,
        *(ack.person for ack in incident.acknowledgers),
        *(r.person for r in incident.responders),
        *(holder.person for holder in incident.roles),
    ]
    return {p.pagerduty_id: p for p in people if p and p.pagerduty_id and p.email}


def directory_update(incident_id: str, person: Person, at: datetime) -> IncidentUpdate:
    """A person's identities for the incident's directory, as a user look-up would file them."""
    return IncidentUpdate.of(Source.PAGERDUTY, incident_id, at, members={"people": [(person, at)]})
