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

A payload that cannot be read is a bug in the policy layer, not a vendor
hiccup, so it is `Permanent`: retrying would not change it.
"""

from __future__ import annotations

import asyncio
import weakref
from datetime import datetime
from typing import TypedDict

from pydantic import JsonValue, ValidationError

from hub.engine.effects import EffectRequest, Outcome, Performer
from hub.errors import Permanent
from hub.model.incident import Person
from hub.model.intent import IntentKind
from hub.model.postmortem import FollowUp
from hub.ports.notify import Notifier

DM_SUFFIX = "/dm"


def chat_performers(notifier: Notifier) -> dict[IntentKind, Performer]:
    """One performer per intent kind a chat platform can carry out."""
    chat = _ChatPerformers(notifier)
    table: dict[IntentKind, Performer] = {
        IntentKind.NOTIFY_OWNER: chat.notify_owner,
        IntentKind.ANNOUNCE_OWNER: chat.announce_owner,
        IntentKind.REPORT_LATE_MEETING: chat.report_late_meeting,
        IntentKind.ASK_OPTIONAL: chat.ask_optional,
        IntentKind.REPORT_UNRESOLVED_ROLE: chat.report_unresolved_role,
        IntentKind.REQUEST_REVIEW: chat.request_review,
        IntentKind.REMIND: chat.remind,
        IntentKind.FLAG_FOLLOWUP: chat.flag_follow_up,
        IntentKind.REQUEST_EXTERNAL_MESSAGE: chat.request_external_message,
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

    async def perform(request: EffectRequest) -> Outcome:
        lock = running.get(request.intent.key)
        if lock is None:
            lock = running[request.intent.key] = asyncio.Lock()
        async with lock:
            return await performer(request)

    return perform


class _ChatPerformers:
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    async def notify_owner(self, request: EffectRequest) -> Outcome:
        intent = request.intent
        owner = _person(intent.payload.get("owner"), "owner")
        handed_to = _optional_person(intent.payload.get("handed_to"), "new owner")
        if handed_to is not None and request.earlier_ref is None:
            # A former owner who was never DMed: nothing to correct, nobody to bother.
            return Outcome(vendor_ref=None, detail={"skipped": "no earlier DM to edit"})
        dm = await self.notifier.notify_owner(
            request.incident,
            request.postmortem,
            owner,
            deadline=_time(intent.payload.get("deadline")),
            effect_key=intent.key + DM_SUFFIX,
            unknown_outcome=request.unknown_outcome,
            accepted_at=_time(intent.payload.get("accepted_at")),
            earlier=request.earlier_ref,
            handed_to=handed_to,
        )
        return Outcome(vendor_ref=dm, detail=_edit_detail(request, dm))

    async def announce_owner(self, request: EffectRequest) -> Outcome:
        intent = request.intent
        posted = await self.notifier.announce_owner(
            request.incident,
            request.postmortem,
            _person(intent.payload.get("owner"), "owner"),
            deadline=_time(intent.payload.get("deadline")),
            effect_key=intent.key,
            unknown_outcome=request.unknown_outcome,
            previous_owner=_optional_person(intent.payload.get("previous_owner"), "owner"),
            earlier=request.earlier_ref,
        )
        return Outcome(vendor_ref=posted, detail=_edit_detail(request, posted))

    async def report_late_meeting(self, request: EffectRequest) -> Outcome:
        intent = request.intent
        meeting = request.postmortem.meeting if request.postmortem else None
        deadline = _time(intent.payload.get("deadline"))
        if meeting is None or deadline is None:
            raise Permanent(f"{intent.key}: no meeting and deadline to report on")
        ref = await self.notifier.report_late_meeting(
            request.incident,
            _person(intent.payload.get("recipient"), "recipient"),
            meeting,
            deadline=deadline,
            earlier=request.earlier_ref,
            **_once(request),
        )
        return Outcome(vendor_ref=ref, detail=_edit_detail(request, ref))

    async def ask_optional(self, request: EffectRequest) -> Outcome:
        recipient = _person(request.intent.payload.get("recipient"), "recipient")
        ref = await self.notifier.ask_optional(request.incident, recipient, **_once(request))
        return Outcome(vendor_ref=ref)

    async def report_unresolved_role(self, request: EffectRequest) -> Outcome:
        payload = request.intent.payload
        recipient = _person(payload.get("recipient"), "recipient")
        role = payload.get("role")
        if not isinstance(role, str):
            raise Permanent(f"{request.intent.key}: payload has no role")
        ref = await self.notifier.report_unresolved_roles(
            request.incident, recipient, [role], **_once(request)
        )
        return Outcome(vendor_ref=ref)

    async def request_review(self, request: EffectRequest) -> Outcome:
        postmortem = request.postmortem
        if postmortem is None:
            raise Permanent(f"{request.intent.key}: no post-mortem to share for review")
        owner = _optional_person(request.intent.payload.get("owner"), "owner")
        meeting_start = request.intent.payload.get("meeting_start")
        # A new owner or document: the request already in the channel is edited. A
        # moved meeting is asked for afresh, ahead of its new time.
        same_meeting = request.earlier_detail.get("meeting_start") == meeting_start
        ref = await self.notifier.request_review(
            request.incident,
            postmortem,
            owner,
            earlier=request.earlier_ref if same_meeting else None,
            **_once(request),
        )
        detail = _edit_detail(request, ref) | {"meeting_start": meeting_start}
        return Outcome(vendor_ref=ref, detail=detail)

    async def remind(self, request: EffectRequest) -> Outcome:
        listed = request.intent.payload.get("recipients")
        recipients = [_person(p, "recipient") for p in listed] if isinstance(listed, list) else []
        ref = await self.notifier.remind(
            request.intent, request.incident, recipients, **_once(request)
        )
        return Outcome(vendor_ref=ref, detail={"recipients": [p.key for p in recipients]})

    async def flag_follow_up(self, request: EffectRequest) -> Outcome:
        intent = request.intent
        payload = intent.payload
        follow_up = _follow_up(request)
        allowed = payload.get("allowed")
        # The policy states its reason as "do not file follow-up <id>: <why>".
        reason = intent.reason.partition(": ")[2] or intent.reason
        ref = await self.notifier.flag_follow_up(
            request.incident,
            follow_up,
            _optional_person(payload.get("recipient"), "recipient"),
            reason=reason,
            allowed=[str(p) for p in allowed] if isinstance(allowed, list) else [],
            **_once(request),
        )
        return Outcome(vendor_ref=ref)

    async def request_external_message(self, request: EffectRequest) -> Outcome:
        recipient = _person(request.intent.payload.get("recipient"), "recipient")
        ref = await self.notifier.request_external_message(
            request.incident, recipient, **_once(request)
        )
        return Outcome(vendor_ref=ref)


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


def _time(value: JsonValue | None) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Permanent(f"the intent's time {value!r} is not ISO 8601") from None
    return moment if moment.tzinfo is not None else None


def _person(value: JsonValue | None, what: str) -> Person:
    person = _optional_person(value, what)
    if person is None:
        raise Permanent(f"the intent names no {what}")
    return person


def _optional_person(value: JsonValue | None, what: str) -> Person | None:
    if value is None:
        return None
    try:
        return Person.model_validate(value)
    except ValidationError as exc:
        raise Permanent(f"the intent's {what} is not a person: {exc}") from None


def _follow_up(request: EffectRequest) -> FollowUp:
    """The stored follow-up (current wording); the payload's copy if it was removed since."""
    payload = request.intent.payload
    wanted = payload.get("id")
    stored = request.postmortem.follow_ups if request.postmortem else ()
    for item in stored:
        if item.id == wanted:
            return item
    try:
        return FollowUp.model_validate({k: payload.get(k) for k in ("id", "summary", "priority")})
    except ValidationError as exc:
        raise Permanent(f"{request.intent.key}: the follow-up cannot be read: {exc}") from None
