"""The post-mortem document's intents (issue 14): write it once, keep pmhub's draft section
true, offer the TODOs found to the owner, email the results once.

* CREATE_DOCUMENT (`pm:<id>:document`): while the post-mortem is open and has no
  document. The job reads the incident's history, assembles the timeline, renders the
  rule's template and creates the document (idempotent by the key in the connector);
  the post-mortem then records it (`PostMortem.document`, `document_url`), which ends
  the intent.
* UPDATE_DOCUMENT_DRAFT (`pm:<id>:document:draft`): what pmhub's section shows (status,
  owner, meeting, follow-ups, open TODOs) is its payload, so a change re-runs it; the
  connector writes only while the section holds what pmhub last wrote. Once a person
  edited or removed it, the post-mortem records that and the intent goes for good.
* OFFER_FOLLOW_UPS (`pm:<id>:todos:<owner>`): the TODOs found in the channel, in the
  owner's DM with a button each; edited as they are added. Nothing is filed without
  a person.
* EMAIL_RESULTS (`pm:<id>:email:results`): at Reviewed or Closed (`results_email.when`),
  to the stakeholders the rule lists (always, per severity, per team), until the
  post-mortem records it as sent; not for one that got there more than
  `results_email.within` ago (enabling the email does not mail about old ones).
"""

from __future__ import annotations

from datetime import timedelta

from hub.model.document import DocumentRecord
from hub.model.intent import (
    CandidateOffer,
    CreateDocument,
    DraftFollowUp,
    EmailResults,
    OfferFollowUps,
    UpdateDocumentDraft,
)
from hub.model.postmortem import PostMortem, PostMortemStatus
from hub.policy.calendar import instant
from hub.policy.context import Context
from hub.policy.document import slug
from hub.policy.durations import Duration, Elapsed
from hub.policy.templates import TemplateProblem, incident_value, render

S = PostMortemStatus
REACHED = {
    "reviewed": (S.REVIEWED, S.CLOSED),
    "closed": (S.CLOSED,),
}


def document_url(ctx: Context) -> str | None:
    """The document pmhub created (not a link a source gave): what payloads carry, so an
    installation without a document sees no change in its intents."""
    pm = ctx.postmortem
    return pm.document.url if pm is not None and pm.document is not None else None


def plan_document(ctx: Context) -> None:
    """The document's intents; a required post-mortem about to be created gets its
    document planned too (the reconciler creates the post-mortem first)."""
    pm, spec = ctx.postmortem, ctx.rule.document
    if spec is None:
        return
    if pm is None or pm.document is None:
        if ctx.status in (S.DRAFT, S.IN_REVIEW):
            _create(ctx)
        return
    if not pm.document.draft_taken_over:
        _draft(ctx, pm, pm.document)
    if pm.status is not S.CLOSED:
        _offer(ctx)


def _create(ctx: Context) -> None:
    spec = ctx.rule.document
    assert spec is not None  # noqa: S101 - checked by the caller
    title = _title(ctx)
    if title is None:
        return
    ctx.add(
        "document",
        "document",
        f"write the post-mortem document ({spec.tool}, template {spec.template!r}), "
        "pre-filled with the timeline and the responders",
        CreateDocument(
            tool=spec.tool,
            template=spec.template,
            location=spec.location,
            title=title,
            slug=slug(ctx.incident, ctx.calendar.tz),
        ),
    )


def _title(ctx: Context) -> str | None:
    template = ctx.policy.document_titles.get(ctx.rule.name)
    fallback = " ".join(p for p in (ctx.incident.reference, ctx.incident.title) if p)
    if template is None:
        return fallback or ctx.incident.id
    try:
        values = {"incident": incident_value(ctx.incident), "rule": ctx.rule.name}
        return " ".join(render(template, values).split()) or fallback or ctx.incident.id
    except TemplateProblem as exc:
        ctx.problems.append(f"the document's title: {exc}")
        return None


def _draft(ctx: Context, pm: PostMortem, document: DocumentRecord) -> None:
    ctx.add(
        "document:draft",
        "document",
        "keep pmhub's section of the document true (it stops once a person edits it)",
        UpdateDocumentDraft(
            document_id=document.id,
            status=pm.status.value,
            owner=ctx.owner_person,
            meeting_start=pm.meeting.start if pm.meeting else None,
            follow_ups=tuple(
                DraftFollowUp(
                    id=item.id,
                    summary=item.summary,
                    priority=item.priority,
                    state=item.state.value,
                    tracker_key=item.tracker_key,
                )
                for item in pm.follow_ups
            ),
            candidates=tuple(c.id for c in pm.candidates if c.follow_up_id is None),
        ),
    )


def _offer(ctx: Context) -> None:
    pm, owner = ctx.postmortem, ctx.owner_person
    if pm is None or owner is None or not pm.candidates:
        return
    ctx.add(
        f"todos:offer:{owner.key}",
        "document.todos",
        f"offer {owner.display} the {len(pm.candidates)} TODO(s) found in the incident's "
        "history as follow-ups (a person decides)",
        OfferFollowUps(
            recipient=owner,
            candidates=tuple(
                CandidateOffer(id=c.id, follow_up_id=c.follow_up_id) for c in pm.candidates
            ),
            document_url=document_url(ctx),
        ),
    )


def plan_results_email(ctx: Context) -> None:
    pm, spec = ctx.postmortem, ctx.rule.results_email
    if pm is None or spec is None or pm.results_email is not None:
        return
    if pm.not_needed_reason is not None or pm.status not in REACHED[spec.when]:
        return
    changed = pm.status_changed_at
    if changed is not None and instant(ctx.now) - instant(changed) > _within(spec.within):
        # Reached long ago (the email was enabled since): news to nobody now.
        ctx.notes.append(f"results email: {pm.status.label} more than {spec.within} ago")
        return
    recipients = results_recipients(ctx)
    if not recipients:
        ctx.problems.append("results_email: nobody to send the results to")
        return
    ctx.add(
        "email:results",
        "results_email",
        f"the post-mortem is {pm.status.label}: email the results and key learnings to "
        f"{len(recipients)} stakeholder(s) (seed 004)",
        EmailResults(
            recipients=recipients,
            moment=spec.when,
            document_url=pm.document_url or document_url(ctx),
        ),
    )


def _within(duration: Duration) -> timedelta:
    return duration.delta if isinstance(duration, Elapsed) else timedelta(days=duration.days)


def results_recipients(ctx: Context) -> tuple[str, ...]:
    """`to`, the incident's severity's list and each of its teams' (by id or name), once."""
    spec = ctx.rule.results_email
    if spec is None:
        return ()
    incident = ctx.incident
    found = [*spec.to, *spec.severities.get(incident.severity, [])]
    teams = {key.casefold(): emails for key, emails in spec.teams.items()}
    for team in incident.teams:
        for name in (team.id, team.name):
            if name and name.casefold() in teams:
                found += teams[name.casefold()]
    unique: dict[str, str] = {}
    for email in found:
        unique.setdefault(email.casefold(), email)
    return tuple(unique.values())
