"""PagerDuty REST answers → incident facts (the enrichment the ingest job fetches).

Webhooks name people by id only and carry no acknowledgement times, no trigger
agent and no emails; these answers fill that in:

* `GET /incidents/{id}` → `incident_update` (clock: the incident's `updated_at`),
* `GET /incidents/{id}/log_entries` → `log_entry_updates`, one update per entry,
  each stamped with the entry's own `created_at`,
* `GET /users/{id}` → `user_update` (a directory entry that enriches every
  mention of that user),
* an on-call object → `primary_oncall_update`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from hub.intake.adapters.base import (
    UNKNOWN_TIME,
    obj,
    objs,
    parse_time,
    prefixed,
    text,
    word,
)
from hub.intake.adapters.pagerduty import PagerDutyOptions, incident_fields, person
from hub.model.incident import Incident, Person, Source
from hub.model.incident_record import IncidentUpdate
from hub.model.severity_map import DEFAULT_SEVERITY_MAP, SeverityMap

_ACK_ENTRIES = frozenset({"acknowledge_log_entry", "acknowledgement_log_entry"})


def incident_update(
    incident: Mapping[str, Any],
    severity_map: SeverityMap = DEFAULT_SEVERITY_MAP,
    options: PagerDutyOptions | None = None,
) -> IncidentUpdate | None:
    """The `incident` object of `GET /incidents/{id}` (acknowledgers, assignees included)."""
    options = options or PagerDutyOptions()
    incident_id = text(incident.get("id"))
    if incident_id is None:
        return None
    at = (
        parse_time(incident.get("updated_at"))
        or parse_time(incident.get("last_status_change_at"))
        or parse_time(incident.get("created_at"))
        or UNKNOWN_TIME
    )
    fields = incident_fields(incident, severity_map, options)
    trigger = obj(incident.get("first_trigger_log_entry"))
    if trigger.get("type") == "trigger_log_entry" and (agent := person(trigger.get("agent"))):
        fields["manual_trigger"] = agent
    members = {
        "acknowledgers": _timed(incident.get("acknowledgements"), "acknowledger", at),
        "assignees": _timed(incident.get("assignments"), "assignee", at),
        "responders": [
            (user, parse_time(r.get("updated_at")) or at)
            for r in objs(incident.get("incidents_responders"))
            if r.get("state") == "joined" and (user := person(r.get("user")))
        ],
    }
    return IncidentUpdate.of(Source.PAGERDUTY, incident_id, at, fields, members)


def _timed(value: object, key: str, default: datetime) -> list[tuple[Person, datetime]]:
    return [
        (who, parse_time(item.get("at")) or default)
        for item in objs(value)
        if (who := person(item.get(key)))
    ]


def log_entry_updates(
    incident_id: str,
    entries: Iterable[Mapping[str, Any]],
    options: PagerDutyOptions | None = None,
) -> tuple[IncidentUpdate, ...]:
    """Facts from `GET /incidents/{id}/log_entries`, each dated by its entry."""
    options = options or PagerDutyOptions()
    updates = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue  # a page of log entries is vendor data; one odd item must not stop it
        at = parse_time(entry.get("created_at"))
        if at is None:
            continue
        fields, members = _entry_facts(dict(entry), at, options)
        if fields or members:
            updates.append(
                IncidentUpdate.of(
                    Source.PAGERDUTY, incident_id, at, fields, members, event_type="log_entry"
                )
            )
    return tuple(updates)


def _entry_facts(
    entry: dict[str, Any], at: datetime, options: PagerDutyOptions
) -> tuple[dict[str, object], dict[str, list[tuple[Person, datetime]]]]:
    kind, agent = word(entry.get("type")), person(entry.get("agent"))
    fields: dict[str, object] = {}
    members: dict[str, list[tuple[Person, datetime]]] = {}
    if kind == "trigger_log_entry" and agent:
        fields["manual_trigger"] = agent  # a user, not a service, opened it
    elif kind in _ACK_ENTRIES and agent:
        members["acknowledgers"] = [(agent, at)]
    elif kind == "assign_log_entry":
        members["assignees"] = [
            (p, at) for ref in objs(entry.get("assignees")) if (p := person(ref))
        ]
    elif kind == "resolve_log_entry":
        fields["resolved_at"] = at
    note = text(entry.get("note")) or (
        text(obj(entry.get("channel")).get("summary")) if kind == "annotate_log_entry" else None
    )
    noted = kind in ("resolve_log_entry", "annotate_log_entry")
    if noted and note and prefixed(note, options.false_positive_note_prefixes):
        fields["false_positive.note"] = True
    return fields, {name: items for name, items in members.items() if items}


def user_update(incident_id: str, user: Mapping[str, Any], at: datetime) -> IncidentUpdate | None:
    """`GET /users/{id}` → a directory entry (name, email) for one incident's record."""
    who = person(user)
    if who is None:
        return None
    return IncidentUpdate.of(Source.PAGERDUTY, incident_id, at, members={"people": [(who, at)]})


def primary_oncall_update(
    incident_id: str, oncall: Mapping[str, Any], at: datetime
) -> IncidentUpdate | None:
    """An on-call object (or a bare user reference) for the incident's escalation policy."""
    who = person(oncall.get("user")) if "user" in oncall else person(oncall)
    if who is None:
        return None
    return IncidentUpdate.of(Source.PAGERDUTY, incident_id, at, {"primary_oncall": who})


def people_to_look_up(incident: Incident) -> tuple[str, ...]:
    """PagerDuty user ids mentioned on the incident whose email is still unknown."""
    people: list[Person | None] = [
        incident.incident_commander,
        incident.manual_trigger,
        incident.primary_oncall,
        *incident.assignees,
        *(ack.person for ack in incident.acknowledgers),
        *(r.person for r in incident.responders),
        *(holder.person for holder in incident.roles),
    ]
    return tuple(sorted({p.pagerduty_id for p in people if p and p.pagerduty_id and not p.email}))
