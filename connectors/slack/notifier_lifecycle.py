"""Issue 13's messages: the moments the process cannot go on by itself (no owner, a
question only a person can answer, a follow-up nobody may own, a close that is held),
each to a named person, once, with what to do."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.slack import lifecycle_messages
from connectors.slack.notifier_core import NotifierCore, ref_text
from hub.model.incident import Incident, Person
from hub.model.intent import (
    AskKeepPostMortem,
    AskSecondReview,
    ReportCloseBlocked,
    ReportUnassignedFollowUp,
)


class LifecycleNotices(NotifierCore):
    """The process's held moments, on top of the shared plumbing."""

    async def report_no_owner(
        self,
        incident: Incident,
        fallback: Person | None,
        *,
        taken_by: Person | None,
        effect_key: str,
        unknown_outcome: bool,
        earlier: str | None = None,
    ) -> str:
        people = await self.people(fallback, taken_by)
        message = lifecycle_messages.no_owner(incident, fallback, taken_by, people=people)
        target = await self._target(fallback)
        return await self._kept(target, message, effect_key, unknown_outcome, earlier)

    async def ask_keep_postmortem(
        self,
        incident: Incident,
        question: AskKeepPostMortem,
        *,
        effect_key: str,
        unknown_outcome: bool,
        earlier: str | None = None,
    ) -> str:
        people = await self.people(question.recipient, question.answered_by)
        message = lifecycle_messages.keep_question(incident, question, people=people)
        target = await self._target(question.recipient)
        return await self._kept(target, message, effect_key, unknown_outcome, earlier)

    async def ask_second_review(
        self,
        incident: Incident,
        question: AskSecondReview,
        *,
        effect_key: str,
        unknown_outcome: bool,
        earlier: str | None = None,
    ) -> str:
        people = await self.people(question.recipient, question.answered_by)
        message = lifecycle_messages.second_review_question(incident, question, people=people)
        target = await self._target(question.recipient)
        return await self._kept(target, message, effect_key, unknown_outcome, earlier)

    async def report_unassigned_follow_up(
        self,
        incident: Incident,
        report: ReportUnassignedFollowUp,
        reason: str,
        *,
        effect_key: str,
        unknown_outcome: bool,
    ) -> str:
        people = await self.people(report.recipient, report.intended)
        message = lifecycle_messages.unassigned_follow_up(incident, report, reason, people=people)
        target = await self._target(report.recipient)
        ref = await self._chat.post(
            target, message, effect_key=effect_key, unknown_outcome=unknown_outcome
        )
        return ref_text(ref)

    async def report_close_blocked(
        self,
        incident: Incident,
        report: ReportCloseBlocked,
        reasons: Sequence[str],
        *,
        effect_key: str,
        unknown_outcome: bool,
        earlier: str | None = None,
    ) -> str:
        people = await self.people(report.recipient)
        message = lifecycle_messages.close_blocked(incident, report, reasons, people=people)
        target = await self._target(report.recipient)
        return await self._kept(target, message, effect_key, unknown_outcome, earlier)
