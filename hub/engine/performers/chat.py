"""Performers for the intents a chat platform carries out, on the `Notifier` port.

Each reads its intent's payload (written by `hub.policy`) back into models and
says it through the notifier, under the intent's key. The owner's DM
(NOTIFY_OWNER, one per owner, posted under `<key>/dm`) and the channel
announcement (ANNOUNCE_OWNER, one per post-mortem) are separate intents.

Keeping messages true: when an intent changed since its message went out (the
meeting got booked or moved, the owner accepted, a hand-off), the effect runner
re-runs it with the ledger's reference to that message (`earlier_ref`), and the
performer has the notifier edit it (`chat.update`) instead of posting again. A new
owner is a new key, so they get their own DM; the announcement is edited.

Payloads are typed (`hub.model.intent`); a performer handed another kind's payload
is a wiring bug, not a vendor hiccup, so it is `Permanent` (`payload_of`).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TypedDict

from hub.engine.effects import EffectOutcome, EffectRequest, Performer
from hub.engine.performers import payload_of
from hub.engine.performers.rollup import AnnouncementCoalescer
from hub.errors import Permanent
from hub.model.intent import (
    AnnounceOwner,
    AskKeepPostMortem,
    AskOptional,
    AskSecondReview,
    FlagFollowUp,
    IntentKind,
    NotifyFormerOwner,
    NotifyOwner,
    Remind,
    RemindFollowUp,
    ReportCloseBlocked,
    ReportLateMeeting,
    ReportMeetingBooking,
    ReportMeetingCancelled,
    ReportNoMeetingSlot,
    ReportNoOwner,
    ReportUnassignedFollowUp,
    ReportUnresolvedRole,
    RequestExternalMessage,
    RequestReview,
    ShareOutcome,
)
from hub.model.postmortem import FollowUp
from hub.ports import Notifier
from hub.ports.rollup import AnnouncementRollups

DM_SUFFIX = "/dm"


def chat_performers(
    notifier: Notifier, *, coalescer: AnnouncementCoalescer | None = None
) -> dict[IntentKind, Performer]:
    """One performer per intent kind a chat platform can carry out.

    `coalescer`: in a storm, channel announcements share roll-up messages (issue 16).
    """
    chat = _ChatPerformers(notifier, coalescer)
    table: dict[IntentKind, Performer] = {
        IntentKind.NOTIFY_OWNER: chat.notify_owner,
        IntentKind.ANNOUNCE_OWNER: chat.announce_owner,
        IntentKind.REPORT_LATE_MEETING: chat.report_late_meeting,
        IntentKind.REPORT_MEETING_BOOKING: chat.report_meeting_booking,
        IntentKind.REPORT_NO_MEETING_SLOT: chat.report_no_meeting_slot,
        IntentKind.REPORT_MEETING_CANCELLED: chat.report_meeting_cancelled,
        IntentKind.ASK_OPTIONAL: chat.ask_optional,
        IntentKind.REPORT_UNRESOLVED_ROLE: chat.report_unresolved_role,
        IntentKind.REQUEST_REVIEW: chat.request_review,
        IntentKind.REMIND: chat.remind,
        IntentKind.FLAG_FOLLOWUP: chat.flag_follow_up,
        IntentKind.REQUEST_EXTERNAL_MESSAGE: chat.request_external_message,
        IntentKind.SHARE_OUTCOME: chat.share_outcome,
        IntentKind.REPORT_NO_OWNER: chat.report_no_owner,
        IntentKind.ASK_KEEP_POSTMORTEM: chat.ask_keep_postmortem,
        IntentKind.ASK_SECOND_REVIEW: chat.ask_second_review,
        IntentKind.REPORT_UNASSIGNED_FOLLOWUP: chat.report_unassigned_follow_up,
        IntentKind.REPORT_CLOSE_BLOCKED: chat.report_close_blocked,
        IntentKind.REMIND_FOLLOWUP: chat.remind_follow_up,
    }
    return {kind: _one_at_a_time(performer) for kind, performer in table.items()}


def _one_at_a_time(performer: Performer) -> Performer:
    """Runs of one intent in this process wait for each other.

    A second job for an intent can start while the first is still posting (a
    reconcile re-enqueues an effect whose ledger row is still pending). It is told
    the outcome is unknown, so once the first is done it finds that post instead of
    repeating it; without waiting, both would post (Slack's pacing makes the window
    seconds wide). Across replicas the ledger and the job leases must do this.
    """
    running: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def perform(request: EffectRequest) -> EffectOutcome:
        lock = running.get(request.intent.key)
        if lock is None:
            lock = running[request.intent.key] = asyncio.Lock()
        async with lock:
            return await performer(request)

    return perform


class _ChatPerformers:
    def __init__(self, notifier: Notifier, coalescer: AnnouncementCoalescer | None) -> None:
        self.notifier = notifier
        self.coalescer = coalescer

    def _for(self, request: EffectRequest) -> Notifier:
        """The notifier for this intent: at its team's channel when it names one (issue 15)."""
        payload = request.intent.payload
        channel = getattr(payload, "channel", None)
        if channel is None:
            return self.notifier
        if isinstance(payload, RequestReview):
            return self.notifier.routed(review_channel=channel)
        return self.notifier.routed(channel=channel)

    async def notify_owner(self, request: EffectRequest) -> EffectOutcome:
        intent, payload = request.intent, request.intent.payload
        if isinstance(payload, NotifyFormerOwner):
            if request.earlier_ref is None:
                # A former owner who was never DMed: nothing to correct, nobody to bother.
                return EffectOutcome(vendor_ref=None, detail={"skipped": "no earlier DM to edit"})
            owner, handed_to = payload.owner, payload.handed_to
            deadline = accepted_at = None
            roles: tuple[str, ...] = ()
            asks_external_message = False
        else:
            notice = payload_of(request.intent, NotifyOwner)
            owner, handed_to = notice.owner, None
            deadline, accepted_at = notice.deadline, notice.accepted_at
            roles = notice.unresolved_roles or ()
            asks_external_message = bool(notice.asks_external_message)
        dm = await self._for(request).notify_owner(
            request.incident,
            request.postmortem,
            owner,
            deadline=deadline,
            effect_key=intent.key + DM_SUFFIX,
            unknown_outcome=request.unknown_outcome,
            accepted_at=accepted_at,
            earlier=request.earlier_ref,
            handed_to=handed_to,
            unresolved_roles=roles,
            external_message=asks_external_message,
        )
        return EffectOutcome(vendor_ref=dm, detail=_edit_detail(request, dm))

    async def announce_owner(self, request: EffectRequest) -> EffectOutcome:
        payload = payload_of(request.intent, AnnounceOwner)
        notifier = self._for(request)
        if self.coalescer is not None and isinstance(notifier, AnnouncementRollups):
            coalesced = await self.coalescer.announce(notifier, request, payload)
            if coalesced is not None:
                return coalesced
        earlier = request.earlier_ref
        if "rollup" in request.earlier_detail:
            earlier = None  # its roll-up is gone (retention): told anew, on its own
        posted = await notifier.announce_owner(
            request.incident,
            request.postmortem,
            payload.owner,
            deadline=payload.deadline,
            effect_key=request.intent.key,
            unknown_outcome=request.unknown_outcome,
            previous_owner=payload.previous_owner,
            earlier=earlier,
        )
        return EffectOutcome(vendor_ref=posted, detail=_edit_detail(request, posted))

    async def report_late_meeting(self, request: EffectRequest) -> EffectOutcome:
        payload = payload_of(request.intent, ReportLateMeeting)
        meeting = request.postmortem.meeting if request.postmortem else None
        if meeting is None:
            raise Permanent(f"{request.intent.key}: no meeting to report on")
        ref = await self._for(request).report_late_meeting(
            request.incident,
            payload.recipient,
            meeting,
            deadline=payload.deadline,
            earlier=request.earlier_ref,
            **_once(request),
        )
        return EffectOutcome(vendor_ref=ref, detail=_edit_detail(request, ref))

    async def report_meeting_booking(self, request: EffectRequest) -> EffectOutcome:
        report = payload_of(request.intent, ReportMeetingBooking)
        meeting = request.postmortem.meeting if request.postmortem else None
        if meeting is None or meeting.event_ref != report.event_ref:
            # Cancelled or replaced meanwhile: the plan no longer asks for this (see the
            # effect runner), but a job already running says nothing about a stale time.
            return EffectOutcome(vendor_ref=None, detail={"skipped": "the meeting changed"})
        deadline = request.plan.meeting.deadline if request.plan.meeting else None
        ref = await self._for(request).report_meeting_booking(
            request.incident, report, meeting, deadline=deadline, **_once(request)
        )
        return EffectOutcome(vendor_ref=ref, detail={"told": report.recipient.key})

    async def report_no_meeting_slot(self, request: EffectRequest) -> EffectOutcome:
        report = payload_of(request.intent, ReportNoMeetingSlot)
        ref = await self._for(request).report_no_meeting_slot(
            request.incident, report, earlier=request.earlier_ref, **_once(request)
        )
        detail = _edit_detail(request, ref) | {"proposed": report.proposed_start.isoformat()}
        return EffectOutcome(vendor_ref=ref, detail=detail)

    async def report_meeting_cancelled(self, request: EffectRequest) -> EffectOutcome:
        report = payload_of(request.intent, ReportMeetingCancelled)
        deadline = request.plan.meeting.deadline if request.plan.meeting else None
        ref = await self._for(request).report_meeting_cancelled(
            request.incident, report, deadline=deadline, **_once(request)
        )
        return EffectOutcome(vendor_ref=ref, detail={"told": report.recipient.key})

    async def ask_optional(self, request: EffectRequest) -> EffectOutcome:
        recipient = payload_of(request.intent, AskOptional).recipient
        ref = await self._for(request).ask_optional(request.incident, recipient, **_once(request))
        return EffectOutcome(vendor_ref=ref)

    async def report_unresolved_role(self, request: EffectRequest) -> EffectOutcome:
        payload = payload_of(request.intent, ReportUnresolvedRole)
        ref = await self._for(request).report_unresolved_roles(
            request.incident, payload.recipient, [payload.role], **_once(request)
        )
        return EffectOutcome(vendor_ref=ref)

    async def request_review(self, request: EffectRequest) -> EffectOutcome:
        postmortem = request.postmortem
        if postmortem is None:
            raise Permanent(f"{request.intent.key}: no post-mortem to share for review")
        payload = payload_of(request.intent, RequestReview)
        meeting_start = payload.meeting_start.isoformat()
        # A new owner or document: the request already in the channel is edited. A
        # moved meeting is asked for afresh, ahead of its new time.
        same_meeting = request.earlier_detail.get("meeting_start") == meeting_start
        ref = await self._for(request).request_review(
            request.incident,
            postmortem,
            payload.owner,
            earlier=request.earlier_ref if same_meeting else None,
            **_once(request),
        )
        detail = _edit_detail(request, ref) | {"meeting_start": meeting_start}
        return EffectOutcome(vendor_ref=ref, detail=detail)

    async def remind(self, request: EffectRequest) -> EffectOutcome:
        reminder = payload_of(request.intent, Remind)
        intent = request.intent
        # Re-run because it changed (an escalation reaching someone new): each recipient's
        # post is looked for by its key first, so whoever had it is not told twice.
        once = _once(request)
        once["unknown_outcome"] = request.unknown_outcome or request.earlier_ref is not None
        ref = await self._for(request).remind(
            request.incident, reminder, intent.message or intent.reason, **once
        )
        return EffectOutcome(
            vendor_ref=ref, detail={"recipients": [p.key for p in reminder.recipients]}
        )

    async def remind_follow_up(self, request: EffectRequest) -> EffectOutcome:
        reminder = payload_of(request.intent, RemindFollowUp)
        stored = request.postmortem.follow_ups if request.postmortem else ()
        follow_up = next((item for item in stored if item.id == reminder.id), None)
        if follow_up is None:
            raise Permanent(f"{request.intent.key}: follow-up {reminder.id} is gone")
        ref = await self._for(request).remind_follow_up(
            request.incident, follow_up, reminder, **_once(request)
        )
        return EffectOutcome(
            vendor_ref=ref,
            detail={"stage": reminder.stage, "recipients": [p.key for p in reminder.recipients]},
        )

    async def flag_follow_up(self, request: EffectRequest) -> EffectOutcome:
        intent, payload = request.intent, payload_of(request.intent, FlagFollowUp)
        # The policy states its reason as "do not file follow-up <id>: <why>".
        reason = intent.reason.partition(": ")[2] or intent.reason
        ref = await self._for(request).flag_follow_up(
            request.incident,
            _follow_up(request, payload),
            payload.recipient,
            reason=reason,
            allowed=payload.allowed,
            **_once(request),
        )
        return EffectOutcome(vendor_ref=ref)

    async def request_external_message(self, request: EffectRequest) -> EffectOutcome:
        recipient = payload_of(request.intent, RequestExternalMessage).recipient
        ref = await self._for(request).request_external_message(
            request.incident, recipient, **_once(request)
        )
        return EffectOutcome(vendor_ref=ref)

    async def share_outcome(self, request: EffectRequest) -> EffectOutcome:
        """Seed 000: the closed post-mortem's outcome, once, whatever closed it.

        A Slack command, the admin API and incident.io all close through the store; the
        plan of a closed post-mortem asks for this, so the channel hears it exactly once.
        """
        payload_of(request.intent, ShareOutcome)
        postmortem = request.postmortem
        if postmortem is None:
            raise Permanent(f"{request.intent.key}: no post-mortem to share")
        owner = request.plan.owner.person if request.plan.owner else None
        ref = await self._for(request).share_outcome(
            request.incident, postmortem, owner, **_once(request)
        )
        return EffectOutcome(vendor_ref=ref)

    # -- issue 13: each moment the process cannot go on by itself reaches a person ---

    async def report_no_owner(self, request: EffectRequest) -> EffectOutcome:
        report = payload_of(request.intent, ReportNoOwner)
        if report.taken_by is not None and request.earlier_ref is None:
            # Taken before anyone was told nobody owned it: nothing to correct.
            return EffectOutcome(vendor_ref=None, detail={"skipped": "no earlier report to edit"})
        ref = await self._for(request).report_no_owner(
            request.incident,
            report.fallback,
            taken_by=report.taken_by,
            earlier=request.earlier_ref,
            **_once(request),
        )
        return EffectOutcome(vendor_ref=ref, detail=_edit_detail(request, ref))

    async def ask_keep_postmortem(self, request: EffectRequest) -> EffectOutcome:
        question = payload_of(request.intent, AskKeepPostMortem)
        ref = await self._for(request).ask_keep_postmortem(
            request.incident, question, earlier=request.earlier_ref, **_once(request)
        )
        return EffectOutcome(vendor_ref=ref, detail=_edit_detail(request, ref))

    async def ask_second_review(self, request: EffectRequest) -> EffectOutcome:
        question = payload_of(request.intent, AskSecondReview)
        ref = await self._for(request).ask_second_review(
            request.incident, question, earlier=request.earlier_ref, **_once(request)
        )
        return EffectOutcome(vendor_ref=ref, detail=_edit_detail(request, ref))

    async def report_unassigned_follow_up(self, request: EffectRequest) -> EffectOutcome:
        report = payload_of(request.intent, ReportUnassignedFollowUp)
        reason = request.intent.message or "the tracker does not know its owner"
        ref = await self._for(request).report_unassigned_follow_up(
            request.incident, report, reason, **_once(request)
        )
        return EffectOutcome(vendor_ref=ref, detail={"ticket": report.tracker_key})

    async def report_close_blocked(self, request: EffectRequest) -> EffectOutcome:
        report = payload_of(request.intent, ReportCloseBlocked)
        if not report.blocking and request.earlier_ref is None:
            return EffectOutcome(vendor_ref=None, detail={"skipped": "nothing held it back"})
        # The policy joins the guards' messages with "; " (one per refused guard).
        reasons = list(dict.fromkeys(r for r in request.intent.message.split("; ") if r))
        ref = await self._for(request).report_close_blocked(
            request.incident, report, reasons, earlier=request.earlier_ref, **_once(request)
        )
        return EffectOutcome(vendor_ref=ref, detail=_edit_detail(request, ref))


class _Once(TypedDict):
    """The exactly-once keywords every notifier method takes."""

    effect_key: str
    unknown_outcome: bool


def _once(request: EffectRequest) -> _Once:
    return {"effect_key": request.intent.key, "unknown_outcome": request.unknown_outcome}


def _edit_detail(request: EffectRequest, ref: str) -> dict[str, object]:
    """For the ledger: whether the message was edited in place or posted."""
    edited = request.earlier_ref is not None and ref == request.earlier_ref
    return {"message": ref, "edited": edited}


def _follow_up(request: EffectRequest, flag: FlagFollowUp) -> FollowUp:
    """The stored follow-up (current wording); the flag's copy if it was removed since."""
    stored = request.postmortem.follow_ups if request.postmortem else ()
    for item in stored:
        if item.id == flag.id:
            return item
    return FollowUp(id=flag.id, summary=flag.summary, priority=flag.priority)
