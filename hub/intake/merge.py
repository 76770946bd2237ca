"""Fold one delivery's facts into the stored incident, whatever order deliveries arrive in.

Every operation here is a join on a total order, which is what makes the result
independent of delivery order and of duplicates (commutative, associative,
idempotent):

* a register keeps the larger of (vendor timestamp, hash of value): the newer
  fact wins, and two different values stamped with the same instant are settled
  by their hash instead of by arrival;
* a set member keeps the earliest time seen, and identities merge field by field
  (a missing value is filled; two different values keep the larger one, an
  arbitrary but order-free choice).
"""

from __future__ import annotations

from typing import NamedTuple

from hub.model.incident import Person
from hub.model.incident_record import (
    IncidentRecord,
    IncidentUpdate,
    Member,
    Register,
    person_key,
    value_tag,
)


class Merged(NamedTuple):
    record: IncidentRecord
    changed: bool  # the ingest job enqueues a reconcile only when this is true


def merge(stored: IncidentRecord | None, update: IncidentUpdate) -> Merged:
    base = stored or IncidentRecord(source=update.source, source_id=update.source_id)
    if (base.source, base.source_id) != (update.source, update.source_id):
        raise ValueError(f"update for {update.incident_id} merged into {base.id}")

    registers = dict(base.registers)
    for path, value in update.fields.items():
        candidate = Register(value=value, at=update.at, tag=value_tag(value))
        current = registers.get(path)
        if current is None or (candidate.at, candidate.tag) > (current.at, current.tag):
            registers[path] = candidate

    sets = {name: dict(members) for name, members in base.sets.items()}
    for name, members in update.members.items():
        bucket = sets.setdefault(name, {})
        for member in members:
            key = person_key(member.person)
            known = bucket.get(key)
            bucket[key] = member if known is None else _join_members(known, member)

    # Sorted so the stored JSON is byte-identical whatever the arrival order.
    record = IncidentRecord(
        source=base.source,
        source_id=base.source_id,
        registers=dict(sorted(registers.items())),
        sets={
            name: dict(sorted(members.items())) for name, members in sorted(sets.items()) if members
        },
    )
    return Merged(record, stored is None or record != stored)


def merge_all(
    stored: IncidentRecord | None, updates: list[IncidentUpdate]
) -> IncidentRecord | None:
    """Fold several updates (of one incident) in the given order."""
    record = stored
    for update in updates:
        record = merge(record, update).record
    return record


def _join_members(a: Member, b: Member) -> Member:
    return Member(person=join_people(a.person, b.person), at=min(a.at, b.at))


def join_people(a: Person, b: Person) -> Person:
    """The same human seen twice: union of identities, order-free on conflict."""
    left, right = a.model_dump(), b.model_dump()
    joined: dict[str, str | None] = {}
    for field, value in left.items():
        other = right.get(field)
        if value is None or other is None:
            joined[field] = value if other is None else other
        else:
            joined[field] = max(value, other)
    return Person.model_validate(joined)


__all__ = ["IncidentRecord", "IncidentUpdate", "Merged", "join_people", "merge", "merge_all"]
