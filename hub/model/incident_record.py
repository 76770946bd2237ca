"""What the store keeps about one incident: facts with their clocks, and the Incident they make.

Deliveries arrive duplicated and out of order, so the stored form is not an
`Incident` but the facts behind it, each with the vendor timestamp that produced
it. `hub.intake.merge.merge` folds an `IncidentUpdate` into an `IncidentRecord`;
the `Incident` everybody reads is computed from the record (`record.incident`),
so it is always consistent with the facts and needs no migration when the
derivation changes.

Two kinds of fact:

* registers: one value per field path ("title", "links.vendor_url",
  "role:Scribe", "false_positive.note"); the newest wins, ties broken by a hash
  of the value so every delivery order ends in the same record;
* sets of people ("acknowledgers", "responders", "assignees", and "people", a
  directory of identities learned from user look-ups): members keyed by the
  person's vendor id, each keeping the earliest time seen. They only grow,
  because for a post-mortem who *ever* acknowledged or was assigned matters,
  not who holds it now.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field, JsonValue, field_validator, model_validator

from hub.model.incident import (
    Acknowledgement,
    Frozen,
    Incident,
    Person,
    Responder,
    RoleHolder,
    Source,
    incident_id,
)

REGISTER_FIELDS = frozenset(
    {
        "title",
        "reference",
        "severity",
        "severity_source",
        "status",
        "created_at",
        "acknowledged_at",
        "resolved_at",
        "services",
        "teams",
        "type",
        "full_outage",
        "custom_fields",
        "escalation_policy_id",
        "incident_commander",
        "reporter",
        "manual_trigger",
        "primary_oncall",
    }
)
# links.<IncidentLinks field>, role:<role name>, false_positive.<reason>: one
# register each, so facts from different events never overwrite each other.
REGISTER_PREFIXES = ("links.", "role:", "false_positive.")
SET_NAMES = frozenset({"acknowledgers", "responders", "assignees", "people"})
# The time of a fact whose delivery says none (an incident.io membership): kept for the
# order-free merge, shown as unknown.
NO_TIME = datetime(1970, 1, 1, tzinfo=UTC)


def json_value(value: object) -> JsonValue:
    """The JSON form a typed value is stored in (models, enums, datetimes, tuples)."""
    if isinstance(value, BaseModel):
        dumped: JsonValue = value.model_dump(mode="json")
        return dumped
    if isinstance(value, Enum):
        return json_value(value.value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        # Sorted: equal values must also serialise equally, whatever order built them.
        return {str(key): json_value(value[key]) for key in sorted(value, key=str)}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"not storable as JSON: {type(value).__name__}")


def value_tag(value: JsonValue) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def person_key(person: Person) -> str:
    """Identity of a set member: the vendor's user id first.

    `Person.key` prefers email, but a PagerDuty webhook names a user by id only
    and the email arrives later from a user look-up; keying by vendor id keeps
    both deliveries on the same member.
    """
    if person.pagerduty_id:
        return f"pagerduty:{person.pagerduty_id}"
    if person.incidentio_id:
        return f"incidentio:{person.incidentio_id}"
    return person.key


class Register(Frozen):
    value: JsonValue
    at: datetime
    tag: str


class Member(Frozen):
    person: Person
    at: datetime


class IncidentUpdate(Frozen):
    """Facts one delivery (or one REST answer) states about one incident, as of `at`."""

    source: Source
    source_id: str
    at: datetime
    fields: dict[str, JsonValue] = Field(default_factory=dict)
    members: dict[str, tuple[Member, ...]] = Field(default_factory=dict)
    event_type: str | None = None

    @field_validator("fields")
    @classmethod
    def _canonical(cls, fields: dict[str, JsonValue]) -> dict[str, JsonValue]:
        return {path: json_value(value) for path, value in fields.items()}

    @model_validator(mode="after")
    def _known_paths(self) -> IncidentUpdate:
        for path in self.fields:
            if path not in REGISTER_FIELDS and not path.startswith(REGISTER_PREFIXES):
                raise ValueError(f"unknown incident field {path!r}")
        for name in self.members:
            if name not in SET_NAMES:
                raise ValueError(f"unknown incident set {name!r}")
        return self

    @property
    def incident_id(self) -> str:
        return incident_id(self.source, self.source_id)

    @classmethod
    def of(
        cls,
        source: Source,
        source_id: str,
        at: datetime,
        fields: Mapping[str, object] | None = None,
        members: Mapping[str, Iterable[tuple[Person, datetime]]] | None = None,
        *,
        event_type: str | None = None,
    ) -> IncidentUpdate:
        """Build from typed values (converted to their stored JSON form here)."""
        return cls(
            source=source,
            source_id=source_id,
            at=at,
            fields={path: json_value(value) for path, value in (fields or {}).items()},
            members={
                name: tuple(Member(person=person, at=when) for person, when in items)
                for name, items in (members or {}).items()
            },
            event_type=event_type,
        )

    @property
    def is_empty(self) -> bool:
        return not self.fields and not any(self.members.values())


class IncidentRecord(Frozen):
    source: Source
    source_id: str
    registers: dict[str, Register] = Field(default_factory=dict)
    sets: dict[str, dict[str, Member]] = Field(default_factory=dict)

    @property
    def id(self) -> str:
        return incident_id(self.source, self.source_id)

    @property
    def incident(self) -> Incident:
        return _materialise(self)

    def to_json(self) -> dict[str, Any]:
        """The `incidents.data` column: the facts, plus the derived Incident for readers."""
        data = self.model_dump(mode="json")
        data["incident"] = self.incident.model_dump(mode="json")
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IncidentRecord:
        facts = {key: value for key, value in data.items() if key != "incident"}
        return cls.model_validate(facts)


def _materialise(record: IncidentRecord) -> Incident:
    directory = record.sets.get("people", {})

    def enrich(person: Person) -> Person:
        # A user look-up is the authority on identities; the delivery fills gaps.
        known = directory.get(person_key(person))
        return known.person.merged_with(person) if known else person

    data: dict[str, Any] = {"links": {}, "false_positive": False}
    roles: list[RoleHolder] = []
    for path in sorted(record.registers):
        value = record.registers[path].value
        if path.startswith("links."):
            data["links"][path.removeprefix("links.")] = value
        elif path.startswith("role:"):
            if value is not None:
                person = enrich(Person.model_validate(value))
                roles.append(RoleHolder(role=path.removeprefix("role:"), person=person))
        elif path.startswith("false_positive."):
            data["false_positive"] = data["false_positive"] or bool(value)
        else:
            data[path] = value
    data.update(id=record.id, source=record.source, source_id=record.source_id)
    base = Incident.model_validate(data)

    def ordered(name: str) -> list[Member]:
        members = record.sets.get(name, {})
        return sorted(members.values(), key=lambda m: (m.at, person_key(m.person)))

    acks = tuple(
        Acknowledgement(person=enrich(m.person), at=m.at) for m in ordered("acknowledgers")
    )
    commander = base.incident_commander
    if commander is None and acks:
        commander = acks[0].person  # the policy may still choose someone else
    clocks = [reg.at for reg in record.registers.values()]
    for name, members in record.sets.items():
        if name != "people":  # a user look-up is not news about the incident
            clocks.extend(m.at for m in members.values())

    def maybe(person: Person | None) -> Person | None:
        return enrich(person) if person else None

    return base.model_copy(
        update={
            "roles": tuple(roles),
            "acknowledgers": acks,
            "acknowledged_at": acks[0].at if acks else base.acknowledged_at,
            "responders": tuple(
                Responder(person=enrich(m.person), joined_at=None if m.at == NO_TIME else m.at)
                for m in ordered("responders")
            ),
            "assignees": tuple(enrich(m.person) for m in ordered("assignees")),
            "incident_commander": maybe(commander),
            "reporter": maybe(base.reporter),
            "manual_trigger": maybe(base.manual_trigger),
            "primary_oncall": maybe(base.primary_oncall),
            "updated_at": max(clocks) if clocks else None,
        }
    )


__all__ = [
    "REGISTER_FIELDS",
    "SET_NAMES",
    "IncidentRecord",
    "IncidentUpdate",
    "Member",
    "Register",
    "json_value",
    "person_key",
    "value_tag",
]
