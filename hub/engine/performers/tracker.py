"""FILE_FOLLOWUP → tickets in the tracker (Jira), several at once through the bulk endpoint.

Why one job files a batch: the reconciler enqueues one `effect` job per intent, but a
post-mortem usually yields its follow-ups together (after the meeting), and Jira
files up to 50 in one `POST /issue/bulk`. So the performer for one FILE_FOLLOWUP
intent files *its own* follow-up and every sibling FILE_FOLLOWUP of the same,
freshly evaluated plan in one `create_many`, and its `EffectOutcome.update` records every
filed key on the post-mortem. The ledger row is its own; a sibling's effect job,
when it runs, re-evaluates the plan, finds its follow-up filed and ends as "no
longer wanted" without a vendor call. The job's `detail` names every key it filed.

Exactly once, without a Jira idempotency key:

* a sibling's outcome is always unknown to this job (another job, before a crash,
  may have filed it), so a batch with siblings searches the marker labels first
  (`create_many(unknown_outcome=True)`: one JQL search for the batch); a batch of
  one searches only when the runner says an earlier attempt may have acted;
* jobs of one incident take turns (a per-incident lock), and what each filed is
  remembered in-process until the ledger has it: the next job, possibly holding a
  plan evaluated before that commit, reuses the ref instead of trusting Jira's
  search index, which trails writes by a moment. Across replicas, the marker
  search is what prevents a duplicate.

A per-item refusal (Jira rejects one ticket) fails only that follow-up's job; a
sibling's refusal is left to the sibling's own job, which reports it in its ledger.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import date

import structlog

from hub.engine.effects import EffectOutcome, EffectRequest, Performer
from hub.engine.performers import payload_of
from hub.errors import ConnectorError, Permanent
from hub.model.incident import Incident, Source
from hub.model.intent import FileFollowUp, Intent, IntentKind, SetFollowUpDue
from hub.model.postmortem import FollowUp, PostMortem
from hub.model.routing import TrackerRoute
from hub.ports import TicketLink, TicketRef, TicketRequest, Tracker

log = structlog.get_logger("pmhub.perform.tracker")

RECENT_REFS_MAX = 4096
_SOURCE_NAMES = {Source.PAGERDUTY: "PagerDuty", Source.INCIDENTIO: "incident.io"}


def tracker_performers(tracker: Tracker) -> dict[IntentKind, Performer]:
    """The performers the tracker contributes to the wiring."""
    return {
        IntentKind.FILE_FOLLOWUP: FollowUpFiler(tracker),
        IntentKind.SET_FOLLOWUP_DUE: _due_setter(tracker),
    }


def _due_setter(tracker: Tracker) -> Performer:
    """SET_FOLLOWUP_DUE: the ticket's due date set to pmhub's; repeating it is harmless."""

    async def perform(request: EffectRequest) -> EffectOutcome:
        change = payload_of(request.intent, SetFollowUpDue)
        await tracker.set_due_date(change.tracker_key, change.due_on)
        due = change.due_on.isoformat() if change.due_on else None

        def record(pm: PostMortem) -> PostMortem:
            def set_on(item: FollowUp) -> FollowUp:
                if item.id != change.id:
                    return item
                fixed = {} if item.due_fixed else {"due_on": change.due_on, "due_set_by": "pmhub"}
                return item.model_copy(update={"tracker_due_on": change.due_on, **fixed})

            return pm.model_copy(update={"follow_ups": tuple(map(set_on, pm.follow_ups))})

        return EffectOutcome(vendor_ref=change.tracker_key, detail={"due": due}, update=record)

    return perform


def parent_marker(incident_id: str) -> str:
    """The marker of the per-incident parent ticket (no intent of its own: found by label)."""
    return f"pm:{incident_id}:followups:parent"


class FollowUpFiler:
    """The FILE_FOLLOWUP performer; one per tracker, shared by every effect job."""

    def __init__(self, tracker: Tracker) -> None:
        self._tracker = tracker
        # Weak: a lock lives while a job of its incident holds or waits for it.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._recent: OrderedDict[str, TicketRef] = OrderedDict()

    async def __call__(self, request: EffectRequest) -> EffectOutcome:
        batch = _batch(request)
        lock = self._locks.setdefault(request.incident.id, asyncio.Lock())
        async with lock:
            refs = await self._file(request, batch)
        own = refs.get(request.intent.key)
        if isinstance(own, ConnectorError):
            raise own
        if own is None:  # pragma: no cover - create_many answers every request
            raise Permanent(f"the tracker gave no answer for {request.intent.key}")
        filed = {
            _followup_id(intent): ref
            for intent in batch
            if isinstance(ref := refs.get(intent.key), TicketRef)
        }
        dues = {
            payload.id: payload.due_on
            for intent in batch
            if (payload := payload_of(intent, FileFollowUp)).id in filed
        }
        detail: dict[str, object] = {
            "url": own.url,
            "filed": {fid: ref.key for fid, ref in filed.items()},
        }
        if own.unassigned_reason:
            detail["unassigned"] = own.unassigned_reason
        return EffectOutcome(vendor_ref=own.key, detail=detail, update=_record_keys(filed, dues))

    async def _file(
        self, request: EffectRequest, batch: Sequence[Intent]
    ) -> dict[str, TicketRef | ConnectorError]:
        refs: dict[str, TicketRef | ConnectorError] = {
            intent.key: self._recent[intent.key] for intent in batch if intent.key in self._recent
        }
        todo = [intent for intent in batch if intent.key not in refs]
        if not todo:
            return refs
        target = payload_of(request.intent, FileFollowUp).tracker or TrackerRoute()
        parent = await self._parent(request.incident, request.postmortem, target)
        tickets = [_ticket(intent, request.incident, parent) for intent in todo]
        look_first = request.unknown_outcome or len(todo) > 1
        results = await self._tracker.create_many(tickets, unknown_outcome=look_first)
        for intent, result in zip(todo, results, strict=True):
            refs[intent.key] = result
            if isinstance(result, TicketRef):
                self._remember(intent.key, result)
            elif intent is not request.intent:
                log.info("followup.sibling_refused", key=intent.key, error=str(result))
        return refs

    async def _parent(
        self, incident: Incident, pm: PostMortem | None, target: TrackerRoute
    ) -> str | None:
        """The parent ticket's key when the tracker files follow-ups under one.

        It has no intent (and no ledger row) of its own, so it is always looked for
        before it is created; the connector answers None at once when not configured.
        """
        marker = parent_marker(incident.id)
        if (known := self._recent.get(marker)) is not None:
            return known.key
        ref = await self._tracker.create_parent(
            TicketRequest(
                summary=f"Post-mortem: {_reference(incident)} {incident.title}".strip(),
                description=f"Follow-ups of the post-mortem of {_reference(incident)}.",
                marker=marker,
                links=_links(incident, pm.document_url if pm else None),
                project=target.project,  # the team's project (issue 15)
                components=target.components,
            ),
            unknown_outcome=True,
        )
        if ref is None:
            return None
        self._remember(marker, ref)
        return ref.key

    def _remember(self, marker: str, ref: TicketRef) -> None:
        self._recent[marker] = ref
        self._recent.move_to_end(marker)
        while len(self._recent) > RECENT_REFS_MAX:
            self._recent.popitem(last=False)


def _batch(request: EffectRequest) -> list[Intent]:
    """This intent first, then the plan's other follow-ups not filed yet (plan order)."""
    siblings = [
        intent
        for intent in request.plan.intents
        if intent.kind is IntentKind.FILE_FOLLOWUP and intent.key != request.intent.key
    ]
    return [request.intent, *siblings]


def _followup_id(intent: Intent) -> str:
    return payload_of(intent, FileFollowUp).id


def _record_keys(
    refs: Mapping[str, TicketRef], dues: Mapping[str, date | None]
) -> Callable[[PostMortem], PostMortem]:
    """Store each filed key (and link) on its follow-up (a key already recorded is kept),
    and the due date it was filed with: from now on that date is the follow-up's, not the
    policy's. A ticket filed without its assignee keeps why (`unassigned_reason`): the plan
    then tells the post-mortem owner, with the link, so a person assigns it."""

    def filed(item: FollowUp) -> FollowUp:
        ref = refs[item.id]
        changes: dict[str, object] = {
            "tracker_key": ref.key,
            "tracker_url": ref.url,
            "unassigned_reason": ref.unassigned_reason,
            "flagged_reason": None,
        }
        if (due := dues.get(item.id)) is not None and not item.due_fixed:
            changes |= {"due_on": due, "due_set_by": "pmhub", "tracker_due_on": due}
        return item.model_copy(update=changes)

    def update(pm: PostMortem) -> PostMortem:
        follow_ups = tuple(
            filed(item) if item.id in refs and item.tracker_key is None else item
            for item in pm.follow_ups
        )
        return pm.model_copy(update={"follow_ups": follow_ups})

    return update


def _ticket(intent: Intent, incident: Incident, parent_key: str | None) -> TicketRequest:
    follow_up = payload_of(intent, FileFollowUp)
    owner, target = follow_up.owner, follow_up.tracker or TrackerRoute()
    return TicketRequest(
        summary=_nonblank(follow_up.summary) or f"Follow-up {follow_up.id}",
        description=_description(follow_up, incident),
        marker=intent.key,
        labels=follow_up.labels,
        priority_name=_nonblank(follow_up.priority),
        assignee_email=_nonblank(owner.email) if owner else None,
        parent_key=parent_key,
        links=_links(incident, _nonblank(follow_up.postmortem_url)),
        project=target.project,
        issue_type=target.issue_type,
        components=target.components,
        due_on=follow_up.due_on,
    )


def _description(follow_up: FileFollowUp, incident: Incident) -> str:
    lines = [
        f"Follow-up action from the post-mortem of {_reference(incident)}"
        + (f" ({incident.title})" if incident.title else "")
        + ".",
        "",
        f"Priority: {_nonblank(follow_up.priority) or 'unset'}",
    ]
    if owner := follow_up.owner:
        name, email = _nonblank(owner.name), _nonblank(owner.email)
        lines.append(f"Owner: {' '.join(p for p in (name, f'<{email}>' if email else None) if p)}")
    if reason := _nonblank(follow_up.priority_override_reason):
        # Filed despite a priority the policy does not file: say why, for the reader.
        lines.append(f"Filed despite its priority: {reason}")
    lines += ["", "Filed by pmhub; closing this ticket marks the follow-up done."]
    return "\n".join(lines)


def _links(incident: Incident, document_url: str | None) -> tuple[TicketLink, ...]:
    links: list[TicketLink] = []
    if incident.links.vendor_url:
        vendor = _SOURCE_NAMES.get(incident.source, incident.source.value)
        links.append(
            TicketLink(f"{vendor} incident {_reference(incident)}", incident.links.vendor_url)
        )
    document = document_url or incident.links.postmortem_document_url
    if document:
        links.append(TicketLink("Post-mortem document", document))
    return tuple(links)


def _reference(incident: Incident) -> str:
    return incident.reference or incident.id


def _nonblank(text: str | None) -> str | None:
    return text if text and text.strip() else None
