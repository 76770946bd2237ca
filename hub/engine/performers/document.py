"""Performers of the post-mortem document (issue 14), on the `Documents` port.

CREATE_DOCUMENT reads the incident's history (`hub.engine.history`), assembles the
timeline and the people (`hub.policy.people`, pure), renders the rule's template and
pmhub's draft section (`hub.policy.document`, pure) and creates the document. Exactly
once: `Documents.create` is idempotent by the effect key (a Drive appProperties marker,
a Git branch derived from it), so a retry after any lost answer, or after a crash
between the vendor's answer and the ledger, returns the first document. The outcome
records it on the post-mortem (`document`, `document_url`) with the TODOs found
(`candidates`), in the transaction that marks the effect done.

UPDATE_DOCUMENT_DRAFT re-renders pmhub's section from the post-mortem as it is now;
the connector writes it only while it still holds what pmhub last wrote. A person's
edit (or its removal) is recorded (`draft_taken_over`), and pmhub stops for good.

OFFER_FOLLOW_UPS is said through the chat connector (`Notifier.offer_follow_ups`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog

from hub.engine.documents import DocumentLibrary
from hub.engine.effects import EffectOutcome, EffectRequest, Performer
from hub.engine.history import HistoryReaders
from hub.engine.performers import payload_of
from hub.errors import Permanent
from hub.model.document import CandidateFollowUp, DocumentRecord
from hub.model.incident import Person
from hub.model.intent import CreateDocument, IntentKind, OfferFollowUps, UpdateDocumentDraft
from hub.model.postmortem import PostMortem
from hub.policy import PolicySet
from hub.policy.document import document_context, render_document, render_draft
from hub.policy.people import assemble
from hub.policy.templates import TemplateProblem
from hub.ports import DocumentRef, DocumentRequest, DraftOutcome, Notifier

log = structlog.get_logger("pmhub.document")


def document_performers(
    library: DocumentLibrary,
    readers: HistoryReaders,
    policies: PolicySet,
    clock: Callable[[], datetime],
) -> dict[IntentKind, Performer]:
    writer = DocumentWriter(library, readers, policies, clock)
    return {
        IntentKind.CREATE_DOCUMENT: writer.create,
        IntentKind.UPDATE_DOCUMENT_DRAFT: writer.update_draft,
    }


def offer_performers(notifier: Notifier) -> dict[IntentKind, Performer]:
    async def offer(request: EffectRequest) -> EffectOutcome:
        payload = payload_of(request.intent, OfferFollowUps)
        pm = request.postmortem
        if pm is None or not pm.candidates:
            raise Permanent(f"{request.intent.key}: no TODOs to offer")
        # Someone Slack does not know is named in their team's channel (issue 15).
        told = notifier.routed(channel=payload.channel) if payload.channel else notifier
        ref = await told.offer_follow_ups(
            request.incident,
            pm,
            payload.recipient,
            effect_key=request.intent.key,
            unknown_outcome=request.unknown_outcome,
            earlier=request.earlier_ref,
        )
        edited = request.earlier_ref is not None and ref == request.earlier_ref
        return EffectOutcome(vendor_ref=ref, detail={"message": ref, "edited": edited})

    return {IntentKind.OFFER_FOLLOW_UPS: offer}


class DocumentWriter:
    def __init__(
        self,
        library: DocumentLibrary,
        readers: HistoryReaders,
        policies: PolicySet,
        clock: Callable[[], datetime],
    ) -> None:
        self._library, self._readers = library, readers
        self._policies, self._clock = policies, clock

    async def create(self, request: EffectRequest) -> EffectOutcome:
        intent, incident, pm = request.intent, request.incident, request.postmortem
        payload = payload_of(intent, CreateDocument)
        if pm is None:
            raise Permanent(f"{intent.key}: no post-mortem to write a document for")
        policy, rule = self._policies.rule(intent.rule)
        template = policy.documents.get(rule.name)
        if template is None:
            raise Permanent(f"{intent.key}: rule {rule.name!r} has no document template")
        documents = self._library.get(payload.tool, payload.location)
        spec, tz = policy.spec.timeline, policy.calendar.tz
        history = await self._readers.read(incident, spec)
        assembled = assemble(history, incident, spec, tz)
        owner = request.plan.owner.person if request.plan.owner else None
        context = document_context(
            incident, pm, owner, assembled, rule=rule.name, tz=tz, max_entries=spec.max_entries
        )
        try:
            content = render_document(template, context)
        except TemplateProblem as exc:
            raise Permanent(f"{intent.key}: the document template: {exc}") from None
        with_todos = _with_candidates(pm, assembled.candidates)
        draft = render_draft(
            with_todos, owner, tz, cut=_names(assembled.cut), max_entries=spec.max_entries
        )
        ref = await documents.create(
            DocumentRequest(
                key=intent.key,
                title=payload.title,
                content=content,
                slug=payload.slug,
                draft=draft,
                summary=_proposal(request, owner),
            )
        )
        record = DocumentRecord(
            tool=payload.tool,
            location=payload.location,
            id=ref.id,
            url=ref.url,
            created_at=self._clock(),
            history_cut=assembled.cut,
        )
        found = assembled.candidates

        def update(current: PostMortem) -> PostMortem:
            changes: dict[str, object] = {"candidates": _with_candidates(current, found).candidates}
            if current.document is None:
                changes["document"] = record
            if current.document_url is None:
                changes["document_url"] = ref.url
            return current.model_copy(update=changes)

        detail = {
            "url": ref.url,
            "timeline_entries": len(assembled.timeline),
            "responders": len(assembled.responders),
            "commander": assembled.commander.person.display if assembled.commander else None,
            "scribe": assembled.scribe.person.display if assembled.scribe else None,
            "todos": len(found),
            "read": list(assembled.read),
            "cut": list(assembled.cut),
            "unread": list(assembled.unread),
        }
        log.info("document.created", **detail)
        return EffectOutcome(vendor_ref=ref.id, detail=detail, update=update)

    async def update_draft(self, request: EffectRequest) -> EffectOutcome:
        intent, pm = request.intent, request.postmortem
        payload_of(intent, UpdateDocumentDraft)
        if pm is None or pm.document is None:
            raise Permanent(f"{intent.key}: the post-mortem has no document")
        record = pm.document
        policy, _ = self._policies.rule(intent.rule)
        owner = request.plan.owner.person if request.plan.owner else None
        draft = render_draft(
            pm,
            owner,
            policy.calendar.tz,
            cut=_names(record.history_cut),
            max_entries=policy.spec.timeline.max_entries,
        )
        documents = self._library.of(record)
        result = await documents.update_draft(DocumentRef(id=record.id, url=record.url), draft)
        detail = {"outcome": result.outcome.value, "version": result.ref.version}
        if result.outcome not in (DraftOutcome.EDITED, DraftOutcome.REMOVED):
            return EffectOutcome(vendor_ref=record.id, detail=detail)

        def taken_over(current: PostMortem) -> PostMortem:
            if current.document is None:
                return current
            document = current.document.model_copy(update={"draft_taken_over": True})
            return current.model_copy(update={"document": document})

        log.info("document.draft_taken_over", outcome=result.outcome.value)
        return EffectOutcome(vendor_ref=record.id, detail=detail, update=taken_over)


def _with_candidates(pm: PostMortem, found: tuple[CandidateFollowUp, ...]) -> PostMortem:
    """The post-mortem with the TODOs found added (those known already stay as they are)."""
    known = {c.id for c in pm.candidates}
    fresh = tuple(c for c in found if c.id not in known)
    return pm.model_copy(update={"candidates": pm.candidates + fresh}) if fresh else pm


def _names(sources: tuple[str, ...]) -> tuple[str, ...]:
    names = {"pagerduty": "PagerDuty", "incidentio": "incident.io", "slack": "Slack"}
    return tuple(names.get(s, s) for s in sources)


def _proposal(request: EffectRequest, owner: Person | None) -> str:
    """A line for where the document is proposed (a pull request's description)."""
    incident = request.incident
    name = incident.reference or incident.id
    who = f", owned by {owner.display}" if owner is not None else ""
    return (
        f"The post-mortem of {name} ({incident.severity.value}){who}, with the timeline and "
        "the responders pre-filled by pmhub from the incident's history."
    )
