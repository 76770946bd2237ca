"""Who holds a role: the incident itself first, then the vendor's roles, then the directory.

Order of lookup for a role (the first source that names anyone wins):

1. the incident's own people (`incident_commander`, `responders`, ...);
2. the incident's vendor roles (`Incident.roles`: incident.io roles, PagerDuty
   team managers as the adapters record them), matched by normalised name
   ("Incident Lead" -> `incident_lead`) or through `directory.vendor_roles`;
3. the directory entries of the incident's services (all of them, merged);
4. the directory entries of the incident's teams;
5. the directory default.

A role that resolves to nobody is returned as unresolved, never dropped, so
the plan (and the owner) can see whom to add by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hub.model.incident import Incident, Person
from hub.policy.schema import DirectorySpec

INCIDENT_ROLES = (
    "owner",
    "incident_commander",
    "reporter",
    "responders",
    "assignees",
    "acknowledgers",
    "first_acknowledger",
    "primary_oncall",
    "manual_trigger",
)
# Roles people expect to configure, even before any directory entry names them.
WELL_KNOWN_ROLES = (
    "service_owners",
    "engineering_manager",
    "product_manager",
    "customer_liaison",
    "incident_commander_shadow",
    "scribe",
)


def normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_")


def known_roles(directory: DirectorySpec) -> set[str]:
    """Every role a policy may name: incident, well-known, and those the directory defines."""
    roles = set(INCIDENT_ROLES) | set(WELL_KNOWN_ROLES) | set(directory.default)
    roles |= set(directory.vendor_roles)
    for entries in (*directory.services.values(), *directory.teams.values()):
        roles |= set(entries)
    return roles


def resolve_role(
    role: str, incident: Incident, directory: DirectorySpec, owner: Person | None
) -> tuple[Person, ...]:
    if "@" in role:
        return (Person(email=role),)
    for source in (_incident_people, _vendor_role, _services, _teams, _default):
        found = source(role, incident, directory, owner)
        if found:
            return tuple(found)
    return ()


def _incident_people(
    role: str, incident: Incident, _: DirectorySpec, owner: Person | None
) -> list[Person]:
    single = {
        "owner": owner,
        "incident_commander": incident.incident_commander,
        "reporter": incident.reporter,
        "first_acknowledger": incident.first_acknowledger,
        "primary_oncall": incident.primary_oncall,
        "manual_trigger": incident.manual_trigger,
    }
    if role in single:
        person = single[role]
        return [person] if person else []
    many = {
        "responders": [r.person for r in incident.responders],
        "assignees": list(incident.assignees),
        "acknowledgers": [a.person for a in incident.acknowledgers],
    }
    return many.get(role, [])


def _vendor_role(
    role: str, incident: Incident, directory: DirectorySpec, _: Person | None
) -> list[Person]:
    names = {normalise(role), *(normalise(n) for n in directory.vendor_roles.get(role, []))}
    return [holder.person for holder in incident.roles if normalise(holder.role) in names]


def _services(
    role: str, incident: Incident, directory: DirectorySpec, _: Person | None
) -> list[Person]:
    refs = [(s.id, s.name) for s in incident.services]
    return _from_entries(role, refs, directory.services)


def _teams(
    role: str, incident: Incident, directory: DirectorySpec, _: Person | None
) -> list[Person]:
    refs = [(t.id, t.name) for t in incident.teams]
    return _from_entries(role, refs, directory.teams)


def _default(
    role: str, _incident: Incident, directory: DirectorySpec, _owner: Person | None
) -> list[Person]:
    return [Person(email=email) for email in directory.default.get(role, [])]


def _from_entries(
    role: str,
    refs: Iterable[tuple[str, str | None]],
    entries: dict[str, dict[str, list[str]]],
) -> list[Person]:
    by_name = {name.casefold(): roles for name, roles in entries.items()}
    found: list[Person] = []
    for ref_id, ref_name in refs:
        roles = by_name.get(ref_id.casefold()) or by_name.get((ref_name or "").casefold())
        found += [Person(email=email) for email in (roles or {}).get(role, [])]
    return found


@dataclass(frozen=True, slots=True)
class Invitees:
    emails: tuple[str, ...]
    unresolved_roles: tuple[str, ...]
    problems: tuple[str, ...]


def resolve_invitees(
    roles: Sequence[str],
    incident: Incident,
    directory: DirectorySpec,
    owner: Person | None,
    observers: Sequence[str] = (),
) -> Invitees:
    """Emails to invite, in role order, each once; the owner first (they do most of the talking)."""
    emails: dict[str, str] = {}
    unresolved: list[str] = []
    problems: list[str] = []
    for role in ("owner", *roles):
        people = resolve_role(role, incident, directory, owner)
        if not people:
            unresolved.append(role)
        for person in people:
            if person.email:
                emails.setdefault(person.email.casefold(), person.email)
            else:
                problems.append(f"{person.display} ({role}) has no email address to invite")
    for email in observers:
        emails.setdefault(email.casefold(), email)
    return Invitees(tuple(emails.values()), tuple(dict.fromkeys(unresolved)), tuple(problems))
