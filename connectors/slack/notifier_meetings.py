"""What Slack says about the review meeting: booked (with whose calendar clashed), late,
impossible to book in time, or cancelled. Each goes to the person who can act on it."""

from __future__ import annotations

from datetime import datetime

from connectors.slack import meeting_messages, messages
from connectors.slack.notifier_core import NotifierCore, ref_text
from hub.model.incident import Incident, Person
from hub.model.intent import ReportMeetingBooking, ReportMeetingCancelled, ReportNoMeetingSlot
from hub.model.postmortem import Meeting


class MeetingNotices(NotifierCore):
    """The meeting's messages, on top of the shared plumbing."""

    async def report_late_meeting(
        self,
        incident: Incident,
        owner: Person,
        meeting: Meeting,
        *,
        deadline: datetime,
        effect_key: str,
        unknown_outcome: bool,
        earlier: str | None = None,
    ) -> str:
        message = messages.meeting_past_deadline(
            incident, owner, meeting, deadline=deadline, people=await self.people(owner)
        )
        target = await self._target(owner)
        return await self._kept(target, message, effect_key, unknown_outcome, earlier)

    async def report_meeting_booking(
        self,
        incident: Incident,
        report: ReportMeetingBooking,
        meeting: Meeting,
        *,
        deadline: datetime | None,
        effect_key: str,
        unknown_outcome: bool,
    ) -> str:
        named = [*report.conflicts, *report.optional_conflicts, *report.unknown]
        people = await self.people(report.recipient, *(Person(email=e) for e in named))
        message = meeting_messages.meeting_booking(
            incident, report, meeting, deadline=deadline, people=people
        )
        recipient = report.recipient
        return ref_text(await self._to_person(recipient, message, effect_key, unknown_outcome))

    async def report_no_meeting_slot(
        self,
        incident: Incident,
        report: ReportNoMeetingSlot,
        *,
        effect_key: str,
        unknown_outcome: bool,
        earlier: str | None = None,
    ) -> str:
        people = await self.people(report.recipient, report.owner)
        message = meeting_messages.no_meeting_slot(incident, report, people=people)
        target = await self._target(report.recipient)
        return await self._kept(target, message, effect_key, unknown_outcome, earlier)

    async def report_meeting_cancelled(
        self,
        incident: Incident,
        report: ReportMeetingCancelled,
        *,
        deadline: datetime | None,
        effect_key: str,
        unknown_outcome: bool,
    ) -> str:
        people = await self.people(report.recipient)
        message = meeting_messages.meeting_cancelled(
            incident, report, deadline=deadline, people=people
        )
        recipient = report.recipient
        return ref_text(await self._to_person(recipient, message, effect_key, unknown_outcome))
