"""Sandboxed Jinja2 templates: follow-up labels and the words pmhub sends to people.

Templates run in `SandboxedEnvironment` with `StrictUndefined`: a policy file is
configuration, not code, and a misspelt field must fail loudly. It must fail at
load time, not at 3 a.m. when the first SEV-1 is resolved, so the loader
renders every template against `sample_context()` (an incident with every field
filled). Each kind of template sees a fixed set of names (`CONTEXT_NAMES`), the
same at load time and at run time, so "renders at load" means "renders later".

Values are handed over as plain dicts of the canonical models, so a template
can read fields (`incident.severity`) but cannot call model methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined, TemplateError, UndefinedError
from jinja2 import Template as JinjaTemplate
from jinja2.sandbox import SandboxedEnvironment

from hub.model.incident import (
    Acknowledgement,
    Incident,
    IncidentStatus,
    Person,
    Responder,
    RoleHolder,
    ServiceRef,
    Severity,
    Source,
    TeamRef,
)
from hub.model.postmortem import FollowUp, Meeting, PostMortem

CONTEXT_NAMES: dict[str, tuple[str, ...]] = {
    "label": ("incident", "postmortem", "followup", "rule"),
    "owner_notify": ("incident", "owner", "previous_owner", "deadline", "rule"),
    "optional_ask": ("incident", "owner", "rule"),
    "meeting_title": ("incident", "rule"),
    "review_request": ("incident", "owner", "postmortem", "meeting", "rule"),
    "reminder": ("incident", "owner", "postmortem", "deadline", "rule", "clause", "condition"),
}

_REF = "{{ incident.reference or incident.id }}"
DEFAULT_MESSAGES: dict[str, str] = {
    "owner_notify": (
        "You are the post-mortem owner for " + _REF + " ({{ incident.title }}). "
        "Owning a post-mortem is not blame: the owner coordinates a blameless, shared "
        "write-up, schedules the meeting and files the follow-ups."
        "{% if deadline %} Please hold the meeting before "
        "{{ deadline | date('%a %d %b %H:%M %Z') }}.{% endif %}"
        "{% if previous_owner %} (Handed over from {{ previous_owner.display }}.){% endif %}"
    ),
    "optional_ask": (
        "A post-mortem is optional for " + _REF + " ({{ incident.title }})"
        "{% if incident.false_positive %}, a false positive{% endif %}. "
        "Something still raised it: would a quick post-mortem help tune the alerting? "
        "Start one, or close it as not needed with a reason."
    ),
    "meeting_title": "Post-mortem: " + _REF + " {{ incident.title }}",
    "review_request": (
        "The post-mortem for " + _REF + " is ready for review before the meeting on "
        "{{ meeting.start | date('%a %d %b %H:%M %Z') }}: "
        "{{ postmortem.document_url or 'link to follow' }}"
    ),
    "reminder": "Post-mortem for " + _REF + ": {{ condition }}",
}


class TemplateProblem(ValueError):
    """A template that does not compile or render; the message says why."""


# One environment per time zone, and each template source compiled once per environment:
# compiling is most of what loading a policy costs (about 5 ms a template), and a daemon
# reloads its policies, a `pmhub check` loads them again. Nothing changes an environment
# after it is made, and a compiled template is only ever rendered, so both can be shared.
@lru_cache(maxsize=64)
def make_environment(tz: ZoneInfo) -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)

    def date_filter(value: object, fmt: str = "%Y-%m-%d") -> str:
        # Dates are shown on the policy's clock: a label's month is the local month.
        if isinstance(value, datetime):
            shown = value.astimezone(tz) if value.tzinfo else value
            return shown.strftime(fmt)
        if isinstance(value, date):
            return value.strftime(fmt)
        raise TemplateProblem(f"the date filter needs a date or time, not {value!r}")

    env.filters["date"] = date_filter
    return env


def compile_template(env: SandboxedEnvironment, source: str) -> JinjaTemplate:
    try:
        return _compiled(env, source)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (template line {line})" if line and "\n" in source else ""
        raise TemplateProblem(f"template does not compile{where}: {exc}") from None


@lru_cache(maxsize=4096)
def _compiled(env: SandboxedEnvironment, source: str) -> JinjaTemplate:
    return env.from_string(source)


def render(template: JinjaTemplate, context: Mapping[str, object]) -> str:
    try:
        return template.render(**context)
    except UndefinedError as exc:
        raise TemplateProblem(f"template names something that does not exist: {exc}") from None
    except (TemplateError, TemplateProblem, TypeError, ValueError, AttributeError) as exc:
        raise TemplateProblem(f"template does not render: {exc}") from None


def validate(env: SandboxedEnvironment, source: str, kind: str) -> JinjaTemplate:
    """Compile and render once against the sample; raises `TemplateProblem`."""
    template = compile_template(env, source)
    sample = sample_context()
    render(template, {name: sample[name] for name in CONTEXT_NAMES[kind]})
    return template


# -- turning models into template values -----------------------------------------


def person_value(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {**person.model_dump(), "display": person.display, "key": person.key}


def incident_value(incident: Incident) -> dict[str, Any]:
    value = incident.model_dump()
    for name in ("incident_commander", "reporter", "manual_trigger", "primary_oncall"):
        value[name] = person_value(getattr(incident, name))
    value["first_acknowledger"] = person_value(incident.first_acknowledger)
    return value


def postmortem_value(postmortem: PostMortem | None) -> dict[str, Any] | None:
    return None if postmortem is None else postmortem.model_dump()


def sample_context() -> dict[str, Any]:
    """Every name any template may use, with every field filled in."""
    incident, postmortem = _sample_incident(), _sample_postmortem()
    owner = incident.incident_commander
    return {
        "incident": incident_value(incident),
        "postmortem": postmortem_value(postmortem),
        "followup": postmortem.follow_ups[0].model_dump(),
        "meeting": postmortem.meeting.model_dump() if postmortem.meeting else None,
        "owner": person_value(owner),
        "previous_owner": person_value(incident.reporter),
        "deadline": datetime(2026, 3, 9, 14, 0, tzinfo=UTC),
        "rule": "sample-rule",
        "clause": "sample-clause",
        "condition": "the meeting is not scheduled yet",
    }


def _sample_incident() -> Incident:
    at = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)
    ic = Person(email="ic@example.com", name="Ida Commander", slack_id="U1", pagerduty_id="P1")
    ack = Person(email="ack@example.com", name="Ari Ack")
    return Incident(
        id="pagerduty:PSAMPLE",
        source=Source.PAGERDUTY,
        source_id="PSAMPLE",
        reference="PD-1",
        title="Sample incident",
        severity=Severity.SEV1,
        severity_source="P1",
        status=IncidentStatus.RESOLVED,
        created_at=at - timedelta(hours=2),
        acknowledged_at=at - timedelta(hours=1),
        resolved_at=at,
        updated_at=at,
        services=(ServiceRef(id="PSVC", name="API"),),
        teams=(TeamRef(id="PTEAM", name="Core"),),
        type="Default",
        custom_fields={"Affected product": "Ingestion"},
        incident_commander=ic,
        reporter=ack,
        assignees=(ic,),
        acknowledgers=(Acknowledgement(person=ack, at=at - timedelta(hours=1)),),
        responders=(Responder(person=ack, joined_at=at - timedelta(hours=1)),),
        roles=(RoleHolder(role="incident_commander", person=ic),),
        manual_trigger=ack,
        primary_oncall=ack,
    )


def _sample_postmortem() -> PostMortem:
    start = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    return PostMortem(
        incident_id="pagerduty:PSAMPLE",
        created_at=start,
        document_url="https://example.com/postmortems/1",
        meeting=Meeting(start=start, end=start + timedelta(minutes=30), calendar="Post-mortems"),
        follow_ups=(FollowUp(id="1", summary="Add an alert", priority="P1"),),
    )
