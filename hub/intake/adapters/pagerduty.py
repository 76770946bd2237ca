"""PagerDuty V3 webhooks → incident facts.

A webhook's `event.data` depends on the event: a whole incident for
triggered/acknowledged/resolved/…, or a smaller object (note, responder, role
assignment, field values) naming the incident. Dispatch is on `data.type`, so a
new incident event type whose data is an incident is understood without code.
Every fact is stamped with `event.occurred_at`. REST answers (incident, log
entries, users, on-calls) are read by `pagerduty_rest`, with the same helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.intake.adapters.base import (
    UNKNOWN_TIME,
    AdapterResult,
    Ignored,
    obj,
    objs,
    parse_time,
    prefixed,
    text,
    word,
)
from hub.model.incident import IncidentStatus, Person, ServiceRef, Source, TeamRef
from hub.model.incident_record import IncidentUpdate
from hub.model.severity_map import DEFAULT_SEVERITY_MAP, SeverityMap

_USER_TYPES = frozenset({"user", "user_reference"})
_JOINED = frozenset({"joined", "accepted"})


@dataclass(frozen=True)
class PagerDutyOptions:
    # Exact role name (case and spacing ignored): "Deputy Incident Commander" is
    # deliberately not the commander.
    commander_role: str = "Incident Commander"
    # Incident type names that mean "this was not a real incident".
    false_positive_types: tuple[str, ...] = ("false_positive", "False Positive")
    # A note (or resolve note) starting with one of these marks a false positive;
    # "starts with" so that "not a false positive, …" does not.
    false_positive_note_prefixes: tuple[str, ...] = (
        "false positive",
        "false-positive",
        "#false-positive",
        "#falsepositive",
    )

    def is_commander(self, role: str) -> bool:
        return _fold(role) == _fold(self.commander_role)

    def is_false_positive_type(self, name: str) -> bool:
        return _fold(name) in {_fold(t) for t in self.false_positive_types}


def _fold(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).casefold()


def person(ref: object) -> Person | None:
    """A user reference or user object; services and integrations are not people."""
    data = obj(ref)
    user_id = text(data.get("id"))
    kind = data.get("type")
    if user_id is None or (kind is not None and word(kind) not in _USER_TYPES):
        return None
    return Person(
        pagerduty_id=user_id,
        name=text(data.get("name")) or text(data.get("summary")),
        email=text(data.get("email")),
    )


def incident_fields(
    incident: Mapping[str, Any], severity_map: SeverityMap, options: PagerDutyOptions
) -> dict[str, object]:
    """The registers an incident object (webhook `data` or REST `incident`) states."""
    fields: dict[str, object] = {}
    if title := text(incident.get("title")):
        fields["title"] = title
    number = incident.get("number", incident.get("incident_number"))
    if isinstance(number, int) and not isinstance(number, bool):
        fields["reference"] = f"PD-{number}"
    if status := _status(incident):
        fields["status"] = status
    if "priority" in incident or "urgency" in incident:
        priority = obj(incident.get("priority"))
        label = text(priority.get("summary")) or text(priority.get("name"))
        severity, source = severity_map.pagerduty(label, text(incident.get("urgency")))
        fields["severity"], fields["severity_source"] = severity, source
    if created := parse_time(incident.get("created_at")):
        fields["created_at"] = created
    if "resolved_at" in incident:
        fields["resolved_at"] = parse_time(incident.get("resolved_at"))
    service = obj(incident.get("service"))
    if service_id := text(service.get("id")):
        name = text(service.get("summary")) or text(service.get("name"))
        fields["services"] = (ServiceRef(id=service_id, name=name),)
    if "teams" in incident:
        fields["teams"] = tuple(
            TeamRef(id=team_id, name=text(t.get("summary")) or text(t.get("name")))
            for t in objs(incident.get("teams"))
            if (team_id := text(t.get("id")))
        )
    if "incident_type" in incident:
        type_name = text(obj(incident.get("incident_type")).get("name"))
        fields["type"] = type_name
        fields["false_positive.type"] = bool(
            type_name and options.is_false_positive_type(type_name)
        )
    if policy_id := text(obj(incident.get("escalation_policy")).get("id")):
        fields["escalation_policy_id"] = policy_id
    if url := text(incident.get("html_url")):
        fields["links.vendor_url"] = url
    if "conference_bridge" in incident:
        bridge = obj(incident.get("conference_bridge"))
        fields["links.conference_url"] = text(bridge.get("conference_url"))
    return fields


def _status(incident: Mapping[str, Any]) -> IncidentStatus | None:
    # A merged-away incident lives on in the one it was merged into; it needs no
    # post-mortem of its own, but it was no false alarm either.
    if obj(incident.get("resolve_reason")).get("type") == "merge_resolve_reason":
        return IncidentStatus.DECLINED
    status = incident.get("status")
    if status in ("triggered", "acknowledged", "resolved"):
        return IncidentStatus(status)
    return None


def parse_webhook(
    body: object,
    severity_map: SeverityMap = DEFAULT_SEVERITY_MAP,
    options: PagerDutyOptions | None = None,
) -> tuple[AdapterResult, ...]:
    event = obj(obj(body).get("event"))
    event_type = text(event.get("event_type"))
    if event_type is None or not event_type.startswith("incident."):
        return (Ignored(event_type, "not an incident event"),)
    data = obj(event.get("data"))
    ctx = _Context(
        event_type=event_type,
        at=parse_time(event.get("occurred_at")) or UNKNOWN_TIME,
        agent=person(event.get("agent")),
        severity_map=severity_map,
        options=options or PagerDutyOptions(),
    )
    handler = _HANDLERS.get(str(data.get("type")))
    if handler is None:
        return (Ignored(event_type, f"data type {data.get('type')!r} not used"),)
    return handler(data, ctx)


@dataclass(frozen=True)
class _Context:
    event_type: str
    at: datetime
    agent: Person | None
    severity_map: SeverityMap
    options: PagerDutyOptions

    def update(
        self,
        incident_id: str,
        fields: Mapping[str, object] | None = None,
        members: Mapping[str, list[tuple[Person, datetime]]] | None = None,
    ) -> IncidentUpdate:
        return IncidentUpdate.of(
            Source.PAGERDUTY, incident_id, self.at, fields, members, event_type=self.event_type
        )

    def ignore(self, reason: str) -> tuple[AdapterResult, ...]:
        return (Ignored(self.event_type, reason),)


def _on_incident(data: dict[str, Any], ctx: _Context) -> tuple[AdapterResult, ...]:
    incident_id = text(data.get("id"))
    if incident_id is None:
        return ctx.ignore("incident without id")
    fields = incident_fields(data, ctx.severity_map, ctx.options)
    members: dict[str, list[tuple[Person, datetime]]] = {
        "assignees": [(p, ctx.at) for ref in objs(data.get("assignees")) if (p := person(ref))]
    }
    if ctx.event_type == "incident.triggered" and ctx.agent:
        fields["manual_trigger"] = ctx.agent  # only a person as agent means a manual trigger
    elif ctx.event_type == "incident.acknowledged" and ctx.agent:
        members["acknowledgers"] = [(ctx.agent, ctx.at)]
    elif ctx.event_type == "incident.resolved":
        fields["resolved_at"] = ctx.at
    elif ctx.event_type == "incident.reopened":
        fields["resolved_at"] = None
    return (ctx.update(incident_id, fields, members),)


def _incident_id(data: Mapping[str, Any]) -> str | None:
    return text(obj(data.get("incident")).get("id"))


def _on_note(data: dict[str, Any], ctx: _Context) -> tuple[AdapterResult, ...]:
    incident_id, content = _incident_id(data), text(data.get("content"))
    if incident_id is None or content is None:
        return ctx.ignore("note without incident or content")
    if not prefixed(content, ctx.options.false_positive_note_prefixes):
        return ctx.ignore("note is not a false-positive marker")
    return (ctx.update(incident_id, {"false_positive.note": True}),)


def _on_responder(data: dict[str, Any], ctx: _Context) -> tuple[AdapterResult, ...]:
    incident_id, user = _incident_id(data), person(data.get("user"))
    if incident_id is None or user is None:
        return ctx.ignore("responder without incident or user")
    # A pending or declined request is not a responder; only those who joined are.
    if word(data.get("state")) not in _JOINED:
        return ctx.ignore(f"responder state {data.get('state')!r}")
    return (ctx.update(incident_id, members={"responders": [(user, ctx.at)]}),)


def _on_roles(data: dict[str, Any], ctx: _Context) -> tuple[AdapterResult, ...]:
    by_incident: dict[str, dict[str, object]] = {}
    for assignment in objs(data.get("incident_role_assignments")):
        incident_id = _incident_id(assignment)
        role = obj(assignment.get("role"))
        role_name = text(role.get("summary")) or text(role.get("name"))
        if incident_id is None or role_name is None:
            continue
        holder = person(assignment.get("assignee"))  # None: the role was unassigned
        fields = by_incident.setdefault(incident_id, {})
        fields[f"role:{role_name}"] = holder
        if ctx.options.is_commander(role_name):
            fields["incident_commander"] = holder
    if not by_incident:
        return ctx.ignore("no usable role assignment")
    return tuple(ctx.update(incident_id, fields) for incident_id, fields in by_incident.items())


def _on_field_values(data: dict[str, Any], ctx: _Context) -> tuple[AdapterResult, ...]:
    incident_id = _incident_id(data)
    if incident_id is None:
        return ctx.ignore("field values without incident")
    values: dict[str, str] = {}
    for field in objs(data.get("custom_fields")):
        name, rendered = text(field.get("name")), _render(field.get("value"))
        if name and rendered is not None:
            values[name] = rendered
    return (ctx.update(incident_id, {"custom_fields": values}),)


def _render(value: object) -> str | None:
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, list):
        parts = [str(v) for v in value if v is not None and not isinstance(v, dict | list)]
        return ", ".join(parts)
    return str(value)


def _on_bridge(data: dict[str, Any], ctx: _Context) -> tuple[AdapterResult, ...]:
    incident_id = _incident_id(data)
    if incident_id is None:
        return ctx.ignore("conference bridge without incident")
    return (ctx.update(incident_id, {"links.conference_url": text(data.get("conference_url"))}),)


_Handler = Callable[[dict[str, Any], _Context], tuple[AdapterResult, ...]]
_HANDLERS: dict[str, _Handler] = {
    "incident": _on_incident,
    "incident_note": _on_note,
    "incident_responder": _on_responder,
    "incident_role_assignment": _on_roles,
    "incident_field_values": _on_field_values,
    "incident_conference_bridge": _on_bridge,
}
