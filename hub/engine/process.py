"""The process in numbers, per post-mortem: what the report, the metrics and the digest read.

One `ProcessRecord` per post-mortem, computed from the store (the post-mortem, its
incident and the milestones the reconciler recorded) and the policies (the incident's
team, each follow-up's due date), so every replica computes the same numbers.

The durations are counted from the incident's resolution, when the post-mortem starts:
to the owner's Accept, to the meeting being booked, to the meeting being held (its
end, once past), to the post-mortem closing. A meeting is on time when it ends by the
deadline the plan gave it; the review was shared early when the request went out at
least 24 hours before the meeting started. A follow-up is done on time when it was
reported done on or before its due date.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.model.incident import Incident, Severity
from hub.model.postmortem import FollowUp, FollowUpState, PostMortem, PostMortemStatus
from hub.policy import PolicySet
from hub.policy.calendar import instant
from hub.policy.followup_dues import follow_up_due
from hub.store.process import postmortem_rows, validated

NO_TEAM = "none"  # the label of incidents no team in pmhub.yaml claims
REVIEW_LEAD = timedelta(hours=24)  # seed 004: shared about a day before the meeting


class Milestone(StrEnum):
    OWNER_ACCEPTED = "owner_accepted"
    MEETING_BOOKED = "meeting_booked"
    MEETING_HELD = "meeting_held"
    CLOSED = "closed"


class FollowUpStanding(StrEnum):
    OPEN = "open"
    OVERDUE = "overdue"
    DONE = "done"
    DROPPED = "dropped"


@dataclass(frozen=True)
class FollowUpRecord:
    item: FollowUp
    due: date | None
    standing: FollowUpStanding

    @property
    def done_on_time(self) -> bool | None:
        """True/False once it can be said (done, or past due); None while it cannot."""
        if self.due is None or self.item.state is FollowUpState.DROPPED:
            return None
        if self.item.state is FollowUpState.DONE:
            done = self.item.done_at
            return done is None or done.date() <= self.due
        return False if self.standing is FollowUpStanding.OVERDUE else None


@dataclass(frozen=True)
class ProcessRecord:
    incident: Incident
    postmortem: PostMortem
    team: str
    follow_ups: tuple[FollowUpRecord, ...]
    now: datetime

    @property
    def severity(self) -> Severity:
        return self.incident.severity

    @property
    def status(self) -> PostMortemStatus:
        return self.postmortem.status

    @property
    def resolved_at(self) -> datetime | None:
        return self.incident.resolved_at

    def reached(self, milestone: Milestone) -> datetime | None:
        """When the post-mortem reached `milestone`, if it has."""
        pm = self.postmortem
        if milestone is Milestone.OWNER_ACCEPTED:
            return pm.acceptance.at if pm.acceptance else None
        if milestone is Milestone.MEETING_BOOKED:
            return pm.milestones.meeting_booked_at
        if milestone is Milestone.MEETING_HELD:
            end = pm.meeting.end if pm.meeting else None
            return end if end is not None and instant(end) <= instant(self.now) else None
        if pm.status is PostMortemStatus.CLOSED:
            return pm.status_changed_at
        return None

    def since_resolution(self, milestone: Milestone) -> timedelta | None:
        reached, resolved = self.reached(milestone), self.resolved_at
        if reached is None or resolved is None:
            return None
        return max(timedelta(0), instant(reached) - instant(resolved))

    @property
    def overdue(self) -> bool:
        """Still open (Draft or In Review) past its meeting deadline without the meeting held
        by then: what the `PmhubPostmortemsOverdue` alert counts."""
        pm, deadline = self.postmortem, self.postmortem.milestones.meeting_deadline
        if pm.status not in (PostMortemStatus.DRAFT, PostMortemStatus.IN_REVIEW):
            return False
        if deadline is None or instant(deadline) > instant(self.now):
            return False
        return pm.meeting is None or instant(pm.meeting.end) > instant(deadline)

    @property
    def meeting_on_time(self) -> bool | None:
        """Whether the meeting (as booked) ends by its deadline; None: no meeting or deadline."""
        meeting, deadline = self.postmortem.meeting, self.postmortem.milestones.meeting_deadline
        if meeting is None or deadline is None:
            return None
        return instant(meeting.end) <= instant(deadline)

    @property
    def review_shared_early(self) -> bool | None:
        """Shared at least 24 h before the meeting (None: no meeting yet)."""
        meeting, shared = self.postmortem.meeting, self.postmortem.milestones.review_shared_at
        if meeting is None:
            return None
        if shared is None:
            return False if instant(meeting.start) <= instant(self.now) else None
        return instant(shared) <= instant(meeting.start) - REVIEW_LEAD


def record_of(
    incident: Incident, postmortem: PostMortem, policies: PolicySet, now: datetime
) -> ProcessRecord:
    found = policies.match(incident)
    today = found[0].calendar.local(now).date() if found else now.date()  # the policy's day
    follow_ups = tuple(
        _follow_up(item, follow_up_due(policies, incident, item, found), today)
        for item in postmortem.follow_ups
    )
    team = policies.team_of(incident) or NO_TEAM
    return ProcessRecord(incident, postmortem, team, follow_ups, now)


def _follow_up(item: FollowUp, due: date | None, today: date) -> FollowUpRecord:
    if item.state is FollowUpState.DONE:
        standing = FollowUpStanding.DONE
    elif item.state is FollowUpState.DROPPED:
        standing = FollowUpStanding.DROPPED
    elif due is not None and due < today:
        standing = FollowUpStanding.OVERDUE
    else:
        standing = FollowUpStanding.OPEN
    return FollowUpRecord(item, due, standing)


async def process_records(
    engine: AsyncEngine, policies: PolicySet, now: datetime
) -> list[ProcessRecord]:
    """Every post-mortem in the store, as the numbers see it.

    Checking and computing a few thousand records takes a noticeable fraction of a
    second: it runs in a thread, so webhooks keep being answered meanwhile.
    """
    rows = await postmortem_rows(engine)

    def compute() -> list[ProcessRecord]:
        return [record_of(i, pm, policies, now) for i, pm in validated(rows)]

    return await asyncio.to_thread(compute)


def in_window(
    records: Sequence[ProcessRecord],
    start: datetime | None,
    end: datetime | None,
    team: str | None = None,
) -> list[ProcessRecord]:
    """The post-mortems of incidents resolved in [start, end), of one team if given."""
    chosen = []
    for record in records:
        resolved = record.resolved_at
        if start is not None and (resolved is None or instant(resolved) < instant(start)):
            continue
        if end is not None and (resolved is None or instant(resolved) >= instant(end)):
            continue
        if team is not None and record.team != team:
            continue
        chosen.append(record)
    return chosen
