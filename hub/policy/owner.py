"""Who owns the post-mortem: an explicit designation, else the first person the rule's chain finds.

Seed 004: the IC designates the owner; seed 002: pick one person - who led the
investigation, the primary on-call of the most affected service, or who
triggered the incident. An explicit designation always wins, wherever (or
whether) `designated` appears in the chain, because a person decided it. The
chain is re-read from the current incident until someone designates, so an IC
named late still becomes the owner.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.model.incident import Incident, Person
from hub.model.postmortem import PostMortem
from hub.policy.plan import OwnerChoice


def choose_owner(
    incident: Incident, postmortem: PostMortem | None, chain: Sequence[str]
) -> OwnerChoice | None:
    designation = postmortem.designation if postmortem else None
    found = _from_chain(incident, chain)
    if designation is not None and postmortem is not None:
        # Handed over from the owner before: the previous designation, or for the
        # first one the person the chain had chosen (unless they designated themselves).
        chosen = found.person if found and found.person.key != designation.person.key else None
        return OwnerChoice(
            person=designation.person,
            reason="designated",
            designated_by=designation.by,
            designated_at=designation.at,
            previous=postmortem.previous_owner or chosen,
        )
    return found


def _from_chain(incident: Incident, chain: Sequence[str]) -> OwnerChoice | None:
    for entry in chain:
        person = _from_entry(entry, incident)
        if person is not None:
            return OwnerChoice(person=person, reason=entry)
    return None


def _from_entry(entry: str, incident: Incident) -> Person | None:
    if "@" in entry:
        return Person(email=entry)  # a named fallback, e.g. the SRE lead
    found: dict[str, Person | None] = {
        "designated": None,  # handled above; nobody designated yet
        "incident_commander": incident.incident_commander,
        "first_acknowledger": incident.first_acknowledger,
        "primary_oncall": incident.primary_oncall,
        "manual_trigger": incident.manual_trigger,
        "reporter": incident.reporter,
        "first_assignee": incident.assignees[0] if incident.assignees else None,
    }
    return found.get(entry)
