"""Performers for the intents a chat platform carries out, on the `Notifier` port.

Each reads its intent's payload (written by `hub.policy`) back into models and
says it through the notifier, under the intent's key. NOTIFY_OWNER is two
messages, the owner's DM and the channel announcement, each under its own key
derived from the intent's: after a partial success (DM sent, announcement timed
out) the retry finds the DM by its key and posts only the announcement.

A payload that cannot be read is a bug in the policy layer, not a vendor
hiccup, so it is `Permanent`: retrying would not change it.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TypedDict

from pydantic import JsonValue, ValidationError

from hub.engine.effects import EffectRequest, Outcome, Performer
from hub.errors import Permanent
from hub.model.incident import Person
from hub.model.intent import IntentKind
from hub.model.postmortem import FollowUp
from hub.ports.notify import Notifier

DM_SUFFIX, ANNOUNCE_SUFFIX = "/dm", "/announce"


def chat_performers(notifier: Notifier) -> dict[IntentKind, Performer]:
    """One performer per intent kind a chat platform can carry out."""
    chat = _ChatPerformers(notifier)
    table: dict[IntentKind, Performer] = {
        IntentKind.NOTIFY_OWNER: chat.notify_owner,
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
        intent, incident, postmortem = request.intent, request.incident, request.postmortem
        owner = _person(intent.payload.get("owner"), "owner")
        deadline = request.plan.meeting.deadline if request.plan.meeting else None
        unknown = request.unknown_outcome
        dm = await self.notifier.notify_owner(
            incident,
            postmortem,
            owner,
            deadline=deadline,
            effect_key=intent.key + DM_SUFFIX,
            unknown_outcome=unknown,
        )
        announcement = await self.notifier.announce_owner(
            incident,
            postmortem,
            owner,
            deadline=deadline,
            effect_key=intent.key + ANNOUNCE_SUFFIX,
            unknown_outcome=unknown,
        )
        return Outcome(vendor_ref=dm, detail={"dm": dm, "announcement": announcement})

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
        ref = await self.notifier.request_review(
            request.incident, postmortem, owner, **_once(request)
        )
        return Outcome(vendor_ref=ref)

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
