"""The post-mortem document: its intents, its words, and the In Review guard that reads it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from hub.model.document import CandidateFollowUp, DocumentRecord, DocumentReview, ResultsEmail
from hub.model.incident import Severity, TeamRef
from hub.model.intent import (
    CreateDocument,
    EmailResults,
    IntentKind,
    NotifyOwner,
    OfferFollowUps,
    UpdateDocumentDraft,
)
from hub.model.postmortem import FollowUp, PostMortemStatus
from hub.policy import TransitionResult, check_policy_text, transition
from hub.policy.document import render_document, render_draft, results_email
from hub.policy.document_checks import sample_assembled, sample_document_context
from hub.policy.templates import _sample_incident, _sample_postmortem

from .factories import (
    ALICE,
    IC,
    PAGERDUTY_POLICY,
    POSTHOG_POLICY,
    SHIPPED,
    incident,
    meeting,
    ny,
    payload,
    plan_for,
    policy_from,
    postmortem,
)

NY = ZoneInfo("America/New_York")
DOC = DocumentRecord(
    tool="google_docs", id="1doc", url="https://docs.example/1doc", created_at=ny(2026, 3, 2, 10, 5)
)
TODO = CandidateFollowUp(
    id="todo-1", text="TODO: alert on drift", at=ny(2026, 3, 2, 9), link="https://s/p1"
)
REQUIRES = ("summary", "timeline", "responders", "root cause")


def test_a_required_post_mortem_gets_its_document_planned_once() -> None:
    fresh = plan_for(incident(severity=Severity.SEV1))
    create = payload(fresh.intent("pm:pagerduty:P1:document"), CreateDocument)
    assert (create.tool, create.template, create.location) == ("google_docs", "pagerduty", None)
    assert create.title == "PD-1 Checkout errors"
    assert create.slug == "2026-03-02-pd-1-checkout-errors"
    written = plan_for(incident(), postmortem(document=DOC, document_url=DOC.url))
    assert written.intent("pm:pagerduty:P1:document") is None
    draft = payload(written.intent("pm:pagerduty:P1:document:draft"), UpdateDocumentDraft)
    assert draft.document_id == "1doc"
    # The owner's DM carries pmhub's document once it exists (and only then).
    dm = payload(written.intent_of(IntentKind.NOTIFY_OWNER), NotifyOwner)
    assert dm.document_url == DOC.url
    before = payload(
        plan_for(incident(), postmortem()).intent_of(IntentKind.NOTIFY_OWNER), NotifyOwner
    )
    assert before.document_url is None
    assert "document_url" not in before.canonical()


def test_pmhub_stops_writing_its_draft_once_a_person_took_it_over() -> None:
    taken = DOC.model_copy(update={"draft_taken_over": True})
    plan = plan_for(incident(), postmortem(document=taken, document_url=DOC.url))
    assert plan.intent("pm:pagerduty:P1:document:draft") is None


def test_the_draft_changes_with_what_it_shows() -> None:
    def fingerprint(**changes: object) -> str:
        plan = plan_for(incident(), postmortem(document=DOC, **changes))
        intent = plan.intent("pm:pagerduty:P1:document:draft")
        assert intent is not None
        return intent.fingerprint()

    base = fingerprint()
    filed = (FollowUp(id="1", summary="Alert", priority="P1", tracker_key="OPS-1"),)
    assert fingerprint(follow_ups=filed) != base
    assert fingerprint(meeting=meeting(ny(2026, 3, 4, 11))) != base
    assert fingerprint() == base


def test_the_todos_found_are_offered_to_the_owner_and_show_when_added() -> None:
    plan = plan_for(incident(), postmortem(document=DOC, candidates=(TODO,)))
    offer = payload(plan.intent("pm:pagerduty:P1:todos:offer:email:ic@example.com"), OfferFollowUps)
    assert offer.recipient == IC
    assert [(c.id, c.follow_up_id) for c in offer.candidates] == [("todo-1", None)]
    added = TODO.model_copy(update={"follow_up_id": "fu-1"})
    again = plan_for(incident(), postmortem(document=DOC, candidates=(added,)))
    intent = again.intent("pm:pagerduty:P1:todos:offer:email:ic@example.com")
    assert intent is not None
    assert intent.fingerprint() != plan.intent(intent.key).fingerprint()  # type: ignore[union-attr]
    closed = plan_for(incident(), postmortem(status=PostMortemStatus.CLOSED, candidates=(TODO,)))
    assert closed.intent_of(IntentKind.OFFER_FOLLOW_UPS) is None


EMAIL_POLICY = """\
version: 1
rules:
  - name: major
    postmortem: required
    owner: [incident_commander]
    document: {tool: github, template: posthog}
    results_email:
      when: closed
      to: [all@example.com]
      severities: {SEV-1: [leads@example.com, ALL@example.com]}
      teams: {Checkout: [checkout@example.com], PTEAM9: [other@example.com]}
"""


def test_the_results_email_goes_once_to_the_lists_of_its_severity_and_teams() -> None:
    policies = policy_from(EMAIL_POLICY)
    sev1 = incident(severity=Severity.SEV1, teams=(TeamRef(id="PT1", name="Checkout"),))
    closed = postmortem(status=PostMortemStatus.CLOSED, status_changed_at=ny(2026, 3, 5, 9))
    plan = plan_for(sev1, closed, now=ny(2026, 3, 5, 10), policies=policies)
    email = payload(plan.intent("pm:pagerduty:P1:email:results"), EmailResults)
    assert email.recipients == ("all@example.com", "leads@example.com", "checkout@example.com")
    assert email.moment == "closed"
    # Not before `when`; not again once sent; not for one closed long ago.
    reviewed = closed.model_copy(update={"status": PostMortemStatus.REVIEWED})
    assert plan_for(sev1, reviewed, policies=policies).intent_of(IntentKind.EMAIL_RESULTS) is None
    sent = closed.model_copy(
        update={
            "results_email": ResultsEmail(
                message_id="<a@b>", sent_at=ny(2026, 3, 5, 9, 30), recipients=()
            )
        }
    )
    assert (
        plan_for(sev1, sent, now=ny(2026, 3, 5, 10), policies=policies).intent_of(
            IntentKind.EMAIL_RESULTS
        )
        is None
    )
    late = plan_for(sev1, closed, now=ny(2026, 3, 20, 10), policies=policies)
    assert late.intent_of(IntentKind.EMAIL_RESULTS) is None
    assert "results email: Closed more than 7 calendar days ago" in late.notes


# -- the words -------------------------------------------------------------------------


def test_the_shipped_pagerduty_template_holds_seed_004_s_sections_and_the_history() -> None:
    policy = SHIPPED.policies[0]
    text = render_document(
        policy.documents["major"], sample_document_context("major", NY, policy.spec)
    )
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# Post-mortem: PD-1 Sample incident",
        "## Summary",
        "## Impact",
        "## Timeline",
        "## Responders",
        "## Root cause",
        "## Key learnings",
        "## External message",
        "## Action items",
        "## Call recording and links",
    ]
    assert "- 07:00 Triggered (Monitoring), [PagerDuty](https://example.pagerduty.com" in text
    assert "**Rolled back the config push**" in text  # a key moment stands out
    assert "- Incident Commander: Ida Commander (from a message in the channel)" in text
    assert "- Scribe: Sam Scribe (from a PagerDuty responder request)" in text
    assert "[Call recording](https://zoom.us/rec/share/abc)" in text
    assert "was cut at 1000 entries (Slack)" in text


@pytest.mark.parametrize(("rule", "sections"), [("posthog-major", 12), ("posthog-minor", 8)])
def test_the_posthog_templates_render(rule: str, sections: int) -> None:
    from hub.policy import load_policies  # noqa: PLC0415 - one file only here

    policy = load_policies([POSTHOG_POLICY]).policies[0]
    tz = ZoneInfo("UTC")
    text = render_document(policy.documents[rule], sample_document_context(rule, tz, policy.spec))
    assert len([line for line in text.splitlines() if line.startswith("#")]) == sections
    assert "## DERP" in text
    assert "### Prevention" in text


def test_pmhub_s_draft_lists_status_follow_ups_and_open_todos_without_emphasis() -> None:
    pm = postmortem(
        meeting=meeting(ny(2026, 3, 4, 11)),
        follow_ups=(
            FollowUp(id="1", summary="Alert on 5xx", priority="P1", tracker_key="OPS-1"),
            FollowUp(id="2", summary="Tidy", priority="P3"),
        ),
        candidates=(TODO, TODO.model_copy(update={"id": "todo-2", "follow_up_id": "1"})),
    )
    draft = render_draft(pm, ALICE, NY, cut=("Slack",), max_entries=500)
    assert "Status: Draft. Owner: Alice. Meeting: Wed 04 Mar 2026 11:00 EST." in draft
    assert "- OPS-1 (P1): Alert on 5xx" in draft
    assert "- not filed yet (P3): Tidy" in draft
    assert "- [ ] TODO: alert on drift (Mon 09:00) ([message](https://s/p1))" in draft
    assert draft.count("- [ ]") == 1  # the one added already is a follow-up now
    assert "cut at 500 entries (Slack)" in draft
    assert "**" not in draft


def test_the_results_email_quotes_the_sections_and_links_the_document() -> None:
    review = DocumentReview(
        headings={"summary": "Summary", "key learnings": "Key learnings"},
        sections={"summary": "Checkout failed for 45 minutes.", "key learnings": ""},
    )
    pm = postmortem(
        status=PostMortemStatus.REVIEWED,
        follow_ups=(
            FollowUp(id="1", summary="Canary", priority="P1", tracker_key="OPS-7", owner=ALICE),
        ),
    )
    subject, text = results_email(
        incident(), pm, IC, review, ["summary", "key learnings"], document_url="https://docs/1"
    )
    assert subject == "Post-mortem results: PD-1 Checkout errors"
    assert "Summary\n-------\nCheckout failed for 45 minutes." in text
    assert "Key learnings" not in text  # empty: left out
    assert "- OPS-7 P1: Canary (Alice)" in text
    assert "The post-mortem: https://docs/1" in text


# -- the In Review guard reads the document back --------------------------------------


def _review(**texts: str) -> DocumentReview:
    names = ("summary", "impact", "timeline", "responders", "root cause")
    return DocumentReview(
        headings={n: n.capitalize() for n in names},
        sections={n: texts.get(n.replace(" ", "_"), "") for n in names},
    )


def _in_review(
    review: DocumentReview | None, *, override: bool = False, reason: str | None = None
) -> TransitionResult:
    pm = postmortem(meeting=meeting(ny(2026, 3, 4, 11)), document=DOC, document_url=DOC.url)
    plan = plan_for(incident(), pm)
    assert plan.review_requires == REQUIRES
    at = ny(2026, 3, 3, 9)
    return transition(
        pm,
        PostMortemStatus.IN_REVIEW,
        IC,
        at,
        plan=plan,
        document=review,
        override=override,
        reason=reason,
    )


def test_an_empty_timeline_is_refused_and_named() -> None:
    result = _in_review(_review(summary="It broke.", responders="Alice", root_cause="A push"))
    assert not result.allowed
    assert result.reason == "these sections of the post-mortem document are empty: Timeline"
    assert result.audit.guards == ("document_sections",)


def test_every_required_section_written_lets_it_go_to_review() -> None:
    full = _review(
        summary="It broke.", timeline="- 08:00 paged", responders="Alice", root_cause="A push"
    )
    assert _in_review(full).allowed


def test_an_unreadable_document_is_refused_and_an_override_waives_the_sections() -> None:
    failed = _in_review(DocumentReview(error="Google Docs: 503"))
    assert not failed.allowed
    assert "could not be read (Google Docs: 503)" in failed.reason
    waived = _in_review(_review(), override=True, reason="reviewed on paper")
    assert waived.allowed
    assert waived.audit.guards == ("document_sections",)


# -- checks when a policy loads ----------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "review", "expected"),
    [
        (
            "{tool: google_docs, template: pagerduty}",
            "{requires: [summary, lessons]}",
            "policy.yaml:7:34: the document template has no section 'lessons' (it has: Summary,",
        ),
        (
            "{tool: google_docs, template: nosuch}",
            "{}",
            "policy.yaml:6:45: cannot read template 'nosuch'",
        ),
        (
            "{tool: google_docs, template: pagerduty, repository: a/b}",
            "{}",
            "policy.yaml:6:15: rules[0].document: `repository` is for tool: github",
        ),
        (
            "null",
            "{requires: [summary]}",
            "policy.yaml:7:24: review.requires needs a `document` section in this rule",
        ),
    ],
)
def test_document_problems_are_found_when_the_policy_loads(
    document: str, review: str, expected: str
) -> None:
    text = f"""\
version: 1
rules:
  - name: major
    postmortem: required
    meeting: {{calendar: PMs, deadline: {{default: 3 calendar days}}}}
    document: {document}
    review: {review}
"""
    _, problems = check_policy_text(text, "policy.yaml")
    assert any(str(p).startswith(expected) for p in problems), [str(p) for p in problems]


def test_a_template_file_next_to_the_policy_is_used(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "ours.md.j2").write_text(
        "# {{ incident.title }}\n\n## Story\n\n{{ timeline | length }}\n"
    )
    policy_file = tmp_path / "policy.yaml"
    text = """\
version: 1
rules:
  - name: major
    postmortem: required
    document: {tool: github, template: ours.md.j2}
    review: {requires: [story]}
"""
    policy, problems = check_policy_text(text, str(policy_file))
    assert problems == []
    assert policy is not None
    rendered = render_document(
        policy.documents["major"], sample_document_context("major", NY, policy.spec)
    )
    assert rendered == "# Sample incident\n\n## Story\n\n2\n"


def test_the_sample_is_the_one_templates_are_checked_against() -> None:
    assert sample_assembled(NY).cut == ("slack",)
    assert _sample_postmortem().incident_id == _sample_incident().id
    assert PAGERDUTY_POLICY.exists()
