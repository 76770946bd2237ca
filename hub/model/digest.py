"""A team's weekly digest (issue 15): what is open, what meets this week, what is overdue.

Built by `hub.engine.digest` from the store, said by the chat connector (and by email
when configured); a value, so both say the same thing.
"""

from __future__ import annotations

from datetime import date, datetime

from hub.model.incident import Frozen, Person, Severity
from hub.model.postmortem import PostMortemStatus


class DigestPostMortem(Frozen):
    reference: str  # the incident's, e.g. PD-1042
    title: str
    severity: Severity
    status: PostMortemStatus
    owner: Person | None
    meeting_start: datetime | None
    deadline: datetime | None
    overdue: bool  # still open past the meeting deadline without the meeting held


class DigestFollowUp(Frozen):
    reference: str  # the incident's
    summary: str
    priority: str
    tracker_key: str | None
    due_on: date
    owner: Person | None


class TeamDigest(Frozen):
    team: str
    week_start: date  # Monday-to-Sunday week the digest is for, in `timezone`
    week_end: date  # exclusive
    timezone: str
    open_postmortems: tuple[DigestPostMortem, ...] = ()
    meetings: tuple[DigestPostMortem, ...] = ()  # post-mortem meetings this week
    overdue_follow_ups: tuple[DigestFollowUp, ...] = ()

    def overdue_by_owner(self) -> list[tuple[str, tuple[DigestFollowUp, ...]]]:
        """Overdue follow-ups grouped by who owns them (unowned last), oldest due first."""
        groups: dict[str, list[DigestFollowUp]] = {}
        for item in self.overdue_follow_ups:
            name = item.owner.display if item.owner else ""
            groups.setdefault(name, []).append(item)
        ordered = sorted(groups.items(), key=lambda group: (group[0] == "", group[0].casefold()))
        return [
            (name or "nobody", tuple(sorted(items, key=lambda i: i.due_on)))
            for name, items in ordered
        ]

    @property
    def empty(self) -> bool:
        return not (self.open_postmortems or self.meetings or self.overdue_follow_ups)
