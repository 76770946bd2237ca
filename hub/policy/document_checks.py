"""Loading the post-mortem document's templates, and the checks made when a policy loads.

A document template is read (a shipped one from the package, or the team's file next
to the policy), compiled in the sandbox and rendered once against a sample incident
with a sample timeline, so a misspelt name fails at `pmhub check`, not when the first
SEV-1 is resolved. The sections a rule's `review.requires` names must be headings the
rendered template has: a guard waiting for a section the document never has would
refuse every review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from jinja2 import Template as JinjaTemplate
from jinja2.sandbox import SandboxedEnvironment

from hub.model.document import CandidateFollowUp, section_name
from hub.model.history import EntryKind, HistorySource
from hub.model.incident import Person
from hub.policy.document import document_context, render_document
from hub.policy.people import Assembled, LinkFound, ResponderFound, RoleFound
from hub.policy.schema import PolicySpec, RuleSpec
from hub.policy.schema_document import SHIPPED_TEMPLATES
from hub.policy.templates import (
    TemplateProblem,
    _sample_incident,
    _sample_postmortem,
    compile_template,
    make_environment,
    render,
    sample_context,
)
from hub.policy.timeline import TimelineEntry

TEMPLATE_SUFFIX = ".md.j2"
Loc = tuple[str | int, ...]


class Report(Protocol):
    def add(self, loc: Loc, message: str, *, key: bool = False) -> None: ...


@dataclass(frozen=True)
class DocumentTemplates:
    """Per rule name: the document template and its title template."""

    bodies: dict[str, JinjaTemplate]
    titles: dict[str, JinjaTemplate]


def document_environment(tz: ZoneInfo) -> SandboxedEnvironment:
    """The sandbox of message templates, with Jinja's block whitespace trimmed: a document
    template is a page of Markdown with loops in it."""
    env = make_environment(tz)
    env.trim_blocks = True
    env.lstrip_blocks = True
    return env


def template_source(name: str, policy_file: str) -> str:
    """A shipped template's text, or the file's (relative to the policy file). OSError."""
    if name in SHIPPED_TEMPLATES:
        shipped = resources.files("hub.policy") / "document_templates" / (name + TEMPLATE_SUFFIX)
        return shipped.read_text(encoding="utf-8")
    path = Path(name)
    if not path.is_absolute():
        path = Path(policy_file).parent / path
    return path.read_text(encoding="utf-8")


def load_document_templates(spec: PolicySpec, filename: str, report: Report) -> DocumentTemplates:
    tz = ZoneInfo(spec.calendar.timezone)
    env = document_environment(tz)
    titles_env = make_environment(tz)
    bodies: dict[str, JinjaTemplate] = {}
    titles: dict[str, JinjaTemplate] = {}
    for index, rule in enumerate(spec.rules):
        if rule.document is None:
            _check_requires_without_document(rule, ("rules", index), report)
            continue
        loc: Loc = ("rules", index, "document")
        title = _title(rule, titles_env, (*loc, "title"), report)
        sample = sample_document_context(rule.name, tz, spec)
        body = _body(rule, env, filename, sample, loc=(*loc, "template"), report=report)
        if title is None or body is None:
            continue
        titles[rule.name] = title
        bodies[rule.name] = body
        _check_requires(rule, body, sample, ("rules", index, "review", "requires"), report)
    return DocumentTemplates(bodies, titles)


def _title(
    rule: RuleSpec, env: SandboxedEnvironment, loc: Loc, report: Report
) -> JinjaTemplate | None:
    assert rule.document is not None  # noqa: S101 - checked by the caller
    try:
        template = compile_template(env, rule.document.title)
        sample = sample_context()
        render(template, {"incident": sample["incident"], "rule": sample["rule"]})
    except TemplateProblem as exc:
        report.add(loc, str(exc))
        return None
    return template


def _body(
    rule: RuleSpec,
    env: SandboxedEnvironment,
    filename: str,
    sample: dict[str, object],
    *,
    loc: Loc,
    report: Report,
) -> JinjaTemplate | None:
    assert rule.document is not None  # noqa: S101 - checked by the caller
    name = rule.document.template
    try:
        source = template_source(name, filename)
    except (OSError, UnicodeDecodeError) as exc:
        shipped = ", ".join(SHIPPED_TEMPLATES)
        report.add(loc, f"cannot read template {name!r}: {exc} (shipped: {shipped}, or a file)")
        return None
    try:
        template = compile_template(env, source)
        render_document(template, sample)
    except TemplateProblem as exc:
        report.add(loc, f"template {name!r}: {exc}")
        return None
    return template


def _check_requires(
    rule: RuleSpec, body: JinjaTemplate, sample: dict[str, object], loc: Loc, report: Report
) -> None:
    if rule.review is None or not rule.review.requires:
        return
    text = render_document(body, sample)
    headings = [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]
    names = {section_name(h) for h in headings}
    for number, wanted in enumerate(rule.review.requires):
        if section_name(wanted) not in names:
            have = ", ".join(headings[1:]) or "none"
            report.add(
                (*loc, number), f"the document template has no section {wanted!r} (it has: {have})"
            )


def _check_requires_without_document(rule: RuleSpec, loc: Loc, report: Report) -> None:
    """`review.requires` reads the document pmhub wrote: without one it could never pass."""
    if rule.review is not None and rule.review.requires:
        report.add(
            (*loc, "review", "requires"), "review.requires needs a `document` section in this rule"
        )


# -- a sample to render against at load time ---------------------------------------------


def sample_document_context(rule: str, tz: ZoneInfo, spec: PolicySpec) -> dict[str, object]:
    incident, postmortem = _sample_incident(), _sample_postmortem()
    return document_context(
        incident,
        postmortem,
        incident.incident_commander,
        sample_assembled(tz),
        rule=rule,
        tz=tz,
        max_entries=spec.timeline.max_entries,
    )


def sample_assembled(tz: ZoneInfo) -> Assembled:
    at = datetime(2026, 3, 6, 12, 0, tzinfo=UTC).astimezone(tz)
    ida = Person(email="ic@example.com", name="Ida Commander", slack_id="U1")
    sam = Person(email="scribe@example.com", name="Sam Scribe", slack_id="U2")
    entry = TimelineEntry(
        at=at,
        source=HistorySource.PAGERDUTY,
        kind=EntryKind.TRIGGERED,
        actor="Monitoring",
        text="Triggered",
        link="https://example.pagerduty.com/incidents/PSAMPLE/log_entries/R1",
    )
    pinned = TimelineEntry(
        at=at + timedelta(minutes=9),
        source=HistorySource.SLACK,
        kind=EntryKind.MESSAGE,
        actor="Ida Commander",
        text="Rolled back the config push",
        link="https://example.slack.com/archives/C1/p1",
        key_moment=True,
    )
    return Assembled(
        timeline=(entry, pinned),
        responders=(
            ResponderFound(ida, at, at + timedelta(minutes=2), ("Incident Commander",)),
            ResponderFound(sam, None, at + timedelta(minutes=5), ("Scribe",)),
        ),
        commander=RoleFound("Incident Commander", ida, "a message in the channel"),
        scribe=RoleFound("Scribe", sam, "a PagerDuty responder request"),
        links=(LinkFound("Call recording", "https://zoom.us/rec/share/abc", at),),
        candidates=(CandidateFollowUp(id="todo-1", text="TODO: alert on config drift", at=at),),
        read=("pagerduty", "slack"),
        cut=("slack",),
        unread=(),
    )
