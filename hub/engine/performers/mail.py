"""EMAIL_RESULTS: the post-mortem's results, emailed to the stakeholders once (seed 004).

"Send out an internal email to the relevant stakeholders describing the results and key
learnings. Include a link to the post-mortem." The sections the rule names
(`results_email.sections`, e.g. summary and key learnings) are read from the document
as it is now (pmhub's draft section does not count: those are not the owner's words);
a document that cannot be read any more (deleted) leaves them out rather than holding
the email back; one that is briefly unreachable (Transient) is retried by the job.

Exactly once: the effects ledger records the send, and the post-mortem records it too
(`results_email`), which ends the intent. A retry whose earlier outcome is unknown sends
the same message with the same Message-ID (derived from the effect key by the mailer),
which mail systems and clients show once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from hub.engine.documents import DocumentLibrary
from hub.engine.effects import EffectOutcome, EffectRequest, Performer
from hub.engine.performers import payload_of
from hub.errors import Permanent
from hub.model.document import DocumentReview, ResultsEmail
from hub.model.intent import EmailResults, IntentKind
from hub.model.postmortem import PostMortem
from hub.policy import PolicySet
from hub.policy.document import results_email
from hub.ports import Mailer, MailMessage


def mail_performers(
    mailer: Mailer,
    library: DocumentLibrary | None,
    policies: PolicySet,
    clock: Callable[[], datetime],
) -> dict[IntentKind, Performer]:
    return {IntentKind.EMAIL_RESULTS: ResultsMailer(mailer, library, policies, clock)}


class ResultsMailer:
    def __init__(
        self,
        mailer: Mailer,
        library: DocumentLibrary | None,
        policies: PolicySet,
        clock: Callable[[], datetime],
    ) -> None:
        self._mailer, self._library = mailer, library
        self._policies, self._clock = policies, clock

    async def __call__(self, request: EffectRequest) -> EffectOutcome:
        intent, pm = request.intent, request.postmortem
        payload = payload_of(intent, EmailResults)
        if pm is None:
            raise Permanent(f"{intent.key}: no post-mortem to tell about")
        _, rule = self._policies.rule(intent.rule)
        sections = rule.results_email.sections if rule.results_email else []
        review = await self._review(pm)
        owner = request.plan.owner.person if request.plan.owner else None
        subject, text = results_email(
            request.incident, pm, owner, review, sections, document_url=payload.document_url
        )
        sent = await self._mailer.send(
            MailMessage(key=intent.key, to=payload.recipients, subject=subject, text=text)
        )
        record = ResultsEmail(
            message_id=sent.message_id, sent_at=self._clock(), recipients=sent.accepted
        )
        summary = review.text("summary") if review else None

        def update(current: PostMortem) -> PostMortem:
            changes: dict[str, object] = {"results_email": current.results_email or record}
            if current.document is not None and summary:
                changes["document"] = current.document.model_copy(
                    update={"summary": summary, "read_at": record.sent_at}
                )
            return current.model_copy(update=changes)

        detail = {
            "message_id": sent.message_id,
            "accepted": list(sent.accepted),
            "refused": dict(sent.refused),
            "sections": [s for s in sections if review and review.filled(s)],
        }
        return EffectOutcome(vendor_ref=sent.message_id, detail=detail, update=update)

    async def _review(self, pm: PostMortem) -> DocumentReview | None:
        if pm.document is None or self._library is None:
            return None
        try:
            return await self._library.read(pm.document)
        except Permanent:
            return None  # deleted, or refused for good: the email goes without its sections
