"""incident.io webhooks (and `GET /v2/incidents/{id}`) → incident and follow-up facts.

incident.io does not deliver in order, and private incidents arrive as a bare id,
so the webhook is mostly a hint: the full incident object (same shape in a public
webhook and in the API answer) is a snapshot dated by its `updated_at`, and the
merge keeps the newest. Private events become `RefetchRequest`s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.intake.adapters.base import (
    UNKNOWN_TIME,
    AdapterResult,
    Ignored,
    RefetchRequest,
    obj,
    objs,
    parse_time,
    text,
    word,
)
from hub.model.followup_event import (
    DEFAULT_FOLLOW_UP_PRIORITIES,
    FollowUpFact,
    FollowUpPriority,
    FollowUpStatus,
    follow_up_priority,
)
from hub.model.incident import IncidentStatus, Person, Source, TeamRef, incident_id
from hub.model.incident_record import IncidentUpdate
from hub.model.severity_map import DEFAULT_SEVERITY_MAP, SeverityMap
from hub.model.vendor_status import INCIDENTIO_STATUSES, VendorStatusFact

# Status categories (IncidentStatusV2.category). Triage is not yet accepted by a
# human; live and paused are being worked; learning ("post-incident") means the
# impact is over; closed is the end. Declined, canceled and merged incidents
# never needed a response.
_STATUS = {
    "triage": IncidentStatus.TRIGGERED,
    "live": IncidentStatus.ACKNOWLEDGED,
    "paused": IncidentStatus.ACKNOWLEDGED,
    "learning": IncidentStatus.RESOLVED,
    "closed": IncidentStatus.CLOSED,
    "declined": IncidentStatus.DECLINED,
    "canceled": IncidentStatus.DECLINED,
    "merged": IncidentStatus.DECLINED,
}
_OVER = frozenset({IncidentStatus.RESOLVED, IncidentStatus.CLOSED, IncidentStatus.DECLINED})
_INCIDENT_EVENTS = frozenset(
    {"public_incident.incident_created_v2", "public_incident.incident_updated_v2"}
)
_FOLLOW_UP_EVENTS = frozenset(
    f"public_incident.follow_up_{verb}_{version}"
    for verb in ("created", "updated")
    for version in ("v1", "v2")
)
_STATUS_EVENT = "public_incident.incident_status_updated_v2"
_DOCUMENT_EVENT = "public_incident.postmortem_document_status_updated_v1"
# Private incidents only: someone was let into the incident (a responder).
_MEMBERSHIP_GRANTED = "private_incident.membership_granted_v1"
# (marker in a private event type, what its `id` names)
_PRIVATE = (
    ("follow_up", "follow_up"),
    ("postmortem_document", "postmortem_document"),
    ("incident_created", "incident"),
    ("incident_updated", "incident"),
)
_DONE = frozenset({"completed", "not_doing", "deleted"})
# Which value to show for a custom field, by its type.
_VALUE_KEYS = {
    "single_select": ("value_option",),
    "multi_select": ("value_option",),
    "text": ("value_text",),
    "link": ("value_link",),
    "numeric": ("value_numeric",),
}
_ANY_VALUE = ("value_option", "value_catalog_entry", "value_text", "value_link", "value_numeric")


@dataclass(frozen=True)
class IncidentIoOptions:
    # incident.io timestamps are organisation-configurable; the defaults are the
    # names incident.io creates ("Resolved at" by a rule, "Fixed at" on Monitoring).
    resolved_timestamps: tuple[str, ...] = ("Resolved at", "Closed at", "Fixed at")
    acknowledged_timestamps: tuple[str, ...] = ("Accepted at", "Acknowledged at")
    # Follow-up priority names are organisation-configurable too
    # (`sources.incidentio.followup_priorities`); P0..P3 pass through as written.
    follow_up_priorities: Mapping[str, FollowUpPriority] = field(
        default_factory=lambda: dict(DEFAULT_FOLLOW_UP_PRIORITIES)
    )


def person(user: object) -> Person | None:
    data = obj(user)
    user_id = text(data.get("id"))
    if user_id is None:
        return None
    return Person(
        incidentio_id=user_id,
        name=text(data.get("name")),
        email=text(data.get("email")),
        slack_id=text(data.get("slack_user_id")),
    )


def parse_webhook(
    body: object,
    severity_map: SeverityMap = DEFAULT_SEVERITY_MAP,
    options: IncidentIoOptions | None = None,
) -> tuple[AdapterResult, ...]:
    envelope = obj(body)
    event_type = text(envelope.get("event_type"))
    if event_type is None:
        return (Ignored(None, "no event_type"),)
    payload = obj(envelope.get(event_type))
    result: AdapterResult | None
    if event_type == _MEMBERSHIP_GRANTED:
        result = _membership(payload)
    elif event_type.startswith("private_incident."):
        result = _private(event_type, payload)
    elif event_type in _INCIDENT_EVENTS:
        result = incident_update(payload, severity_map, options, event_type=event_type)
    elif event_type == _STATUS_EVENT:
        incident = obj(payload.get("incident"))
        result = incident_update(incident, severity_map, options, event_type=event_type)
    elif event_type in _FOLLOW_UP_EVENTS:
        result = follow_up_fact(payload, options)
    elif event_type == _DOCUMENT_EVENT:
        # The incident's own postmortem_document_url is the authority: re-read it too.
        status = document_status(payload)
        parent = status.incident_id.partition(":")[2] if status else None
        if status is None or parent is None:
            return (Ignored(event_type, "no usable post-mortem document in payload"),)
        return (status, RefetchRequest(Source.INCIDENTIO, "incident", parent, event_type))
    else:
        return (Ignored(event_type, "event type not used"),)
    return (result if result is not None else Ignored(event_type, "no usable id in payload"),)


def document_status(payload: Mapping[str, Any]) -> VendorStatusFact | None:
    """A post-mortem document's status: the webhook's `new_status` (the change it reports),
    else the document's own `status` (the API's answer, or an odd delivery)."""
    document = obj(payload.get("postmortem_document")) or dict(payload)
    document_id, parent = text(document.get("id")), text(document.get("incident_id"))
    raw = word(payload.get("new_status")) or word(document.get("status"))
    status = INCIDENTIO_STATUSES.get(raw or "")
    if document_id is None or parent is None or status is None:
        return None
    return VendorStatusFact(
        source=Source.INCIDENTIO.value,
        incident_id=incident_id(Source.INCIDENTIO, parent),
        document_id=document_id,
        status=status,
        at=parse_time(document.get("updated_at")),
    )


def _membership(payload: Mapping[str, Any]) -> AdapterResult | None:
    """Someone was let into a private incident: a responder (the user look-up gives their
    email later). Revoked memberships change nothing: who ever responded is what matters."""
    parent, user_id = text(payload.get("incident_id")), text(payload.get("user_id"))
    if parent is None or user_id is None:
        return None
    member = Person(incidentio_id=user_id)
    return IncidentUpdate.of(
        Source.INCIDENTIO,
        parent,
        UNKNOWN_TIME,
        members={"responders": [(member, UNKNOWN_TIME)]},
        event_type=_MEMBERSHIP_GRANTED,
    )


def _private(event_type: str, payload: dict[str, Any]) -> AdapterResult | None:
    """Private incidents are delivered as a bare id: the resource to fetch."""
    resource_id = text(payload.get("id"))
    resource = next((kind for marker, kind in _PRIVATE if marker in event_type), None)
    if resource is None:
        return Ignored(event_type, "private event type not used")
    if resource_id is None:
        return None
    return RefetchRequest(Source.INCIDENTIO, resource, resource_id, event_type)


def incident_update(
    incident: Mapping[str, Any],
    severity_map: SeverityMap = DEFAULT_SEVERITY_MAP,
    options: IncidentIoOptions | None = None,
    event_type: str | None = None,
) -> IncidentUpdate | None:
    """An IncidentV2 object (webhook payload or the API's `incident`) as one snapshot."""
    options = options or IncidentIoOptions()
    source_id = text(incident.get("id"))
    if source_id is None:
        return None
    at = parse_time(incident.get("updated_at")) or parse_time(incident.get("created_at"))
    fields: dict[str, object] = {}
    if title := text(incident.get("name")):
        fields["title"] = title
    if reference := text(incident.get("reference")):
        fields["reference"] = reference
    severity, severity_source = severity_map.incident_io(
        text(obj(incident.get("severity")).get("name"))
    )
    fields["severity"], fields["severity_source"] = severity, severity_source
    if created := parse_time(incident.get("created_at")):
        fields["created_at"] = created
    fields.update(_status_fields(incident, options))
    fields["type"] = text(obj(incident.get("incident_type")).get("name"))
    fields["teams"] = tuple(
        TeamRef(id=team_id)
        for team_id in (text(t) for t in _list(incident.get("team_ids")))
        if team_id
    )
    fields["custom_fields"] = _custom_fields(incident.get("custom_field_entries"))
    fields.update(_links(incident))
    fields.update(_roles(incident))
    creator = obj(incident.get("creator"))
    # Created by a person, not from an alert: that person triggered the response.
    fields["manual_trigger"] = None if creator.get("alert") else person(creator.get("user"))
    when = at or UNKNOWN_TIME
    return IncidentUpdate.of(
        Source.INCIDENTIO,
        source_id,
        when,
        fields,
        # A role assignment does not say since when: the joined time stays unknown (and
        # an older snapshot arriving late changes nothing).
        {"responders": [(holder, UNKNOWN_TIME) for holder in _role_holders(incident)]},
        event_type=event_type,
    )


def _role_holders(incident: Mapping[str, Any]) -> list[Person]:
    """Everyone holding an incident role responded (the lead, the reporter, a scribe…):
    they are the incident's responders, for the meeting's invitations and the timeline."""
    holders = (person(a.get("assignee")) for a in objs(incident.get("incident_role_assignments")))
    return [holder for holder in holders if holder is not None]


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _status_fields(incident: Mapping[str, Any], options: IncidentIoOptions) -> dict[str, object]:
    category = obj(incident.get("incident_status")).get("category")
    status = _STATUS.get(category) if isinstance(category, str) else None
    stamps = {
        name.casefold(): when
        for entry in objs(incident.get("incident_timestamp_values"))
        if (name := text(obj(entry.get("incident_timestamp")).get("name")))
        and (when := parse_time(obj(entry.get("value")).get("value")))
    }

    def first(names: tuple[str, ...]) -> object:
        return next((stamps[n.casefold()] for n in names if n.casefold() in stamps), None)

    fields: dict[str, object] = {"acknowledged_at": first(options.acknowledged_timestamps)}
    if status is not None:
        fields["status"] = status
        fields["resolved_at"] = first(options.resolved_timestamps) if status in _OVER else None
        # Declined or cancelled: it was not an incident (seed 000's false positive). Merged
        # is a duplicate: the incident it was merged into carries the post-mortem.
        fields["false_positive.status"] = category in ("declined", "canceled")
    return fields


def _custom_fields(entries: object) -> dict[str, str]:
    values: dict[str, str] = {}
    for entry in objs(entries):
        field = obj(entry.get("custom_field"))
        name = text(field.get("name"))
        keys = _VALUE_KEYS.get(str(field.get("field_type")), _ANY_VALUE)
        rendered = [r for value in objs(entry.get("values")) if (r := _render(value, keys))]
        if name and rendered:
            values[name] = ", ".join(rendered)
    return values


def _render(value: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        item = value.get(key)
        if isinstance(item, dict):
            item = item.get("value", item.get("name"))
        if found := text(item):
            return found
    return None


def _links(incident: Mapping[str, Any]) -> dict[str, object]:
    documents = [d for d in (text(i) for i in _list(incident.get("postmortem_document_ids"))) if d]
    return {
        # The first document is the post-mortem (incident.io makes one per incident).
        "links.postmortem_document_id": documents[0] if documents else None,
        "links.vendor_url": text(incident.get("permalink")),
        "links.slack_channel_id": text(incident.get("slack_channel_id")),
        "links.slack_channel_name": text(incident.get("slack_channel_name")),
        "links.conference_url": text(incident.get("call_url")),
        "links.postmortem_document_url": text(incident.get("postmortem_document_url")),
    }


def _roles(incident: Mapping[str, Any]) -> dict[str, object]:
    fields: dict[str, object] = {"incident_commander": None, "reporter": None}
    for assignment in objs(incident.get("incident_role_assignments")):
        role = obj(assignment.get("role"))
        name = text(role.get("name"))
        holder = person(assignment.get("assignee"))  # absent: nobody holds the role
        if name:
            fields[f"role:{name}"] = holder
        if role.get("role_type") == "lead":
            fields["incident_commander"] = holder
        elif role.get("role_type") == "reporter":
            fields["reporter"] = holder
    return fields


def follow_up_fact(
    follow_up: Mapping[str, Any], options: IncidentIoOptions | None = None
) -> FollowUpFact | None:
    """A follow-up (v2) or a follow-up action (v1, which has no title nor priority).

    The priority (FollowUpPriorityV2: id, name, rank) is read by its name, the one
    thing an organisation chooses and people see; `rank` only orders the options
    and says nothing about which of P0..P3 they mean.
    """
    options = options or IncidentIoOptions()
    external_id = text(follow_up.get("id"))
    if external_id is None:
        return None
    vendor_priority = text(obj(follow_up.get("priority")).get("name"))
    status = FollowUpStatus.DONE if word(follow_up.get("status")) in _DONE else FollowUpStatus.OPEN
    parent = text(follow_up.get("incident_id"))
    return FollowUpFact(
        source=Source.INCIDENTIO.value,
        external_id=external_id,
        title=text(follow_up.get("title")) or text(follow_up.get("description")) or "",
        status=status,
        owner=person(follow_up.get("assignee")),
        priority=follow_up_priority(vendor_priority, options.follow_up_priorities),
        priority_source=vendor_priority,
        at=parse_time(follow_up.get("updated_at")) or parse_time(follow_up.get("created_at")),
        incident_id=incident_id(Source.INCIDENTIO, parent) if parent else None,
        url=text(obj(follow_up.get("external_issue_reference")).get("issue_permalink")),
    )
