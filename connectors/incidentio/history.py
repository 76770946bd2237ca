"""incident.io's activity log as `hub.ports.IncidentLog`: updates, status changes, roles.

`GET /v2/incident_activity_log_entries` lists everything that happened on an incident,
oldest first (incident updates, status and severity changes, role assignments and
handovers, scribes, pins, escalations, PagerDuty events, membership revocations...),
paged by the last entry's id (`after`). Channel joins and chat messages are not in it
(incident.io leaves them out); they come from the Slack channel's own history.
Incident memberships have no list endpoint; a revoked one appears here.

A read stops at `limit` entries, which keeps the oldest (the start of the incident) and
says it was cut.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp

from connectors.incidentio.client import IncidentIoClient
from connectors.incidentio.config import IncidentIoConfig
from hub.errors import Permanent
from hub.ports import Actor, EntryKind, HistoryEntry, HistoryRead, HistorySource

PAGE_SIZE = 250  # the endpoint's maximum
KINDS = {
    "status_change": EntryKind.STATUS_CHANGED,
    "incident_update": EntryKind.STATUS_UPDATE,
    "atlassian_statuspage_update": EntryKind.STATUS_UPDATE,
    "status_page_incident_updated": EntryKind.STATUS_UPDATE,
    "role_update": EntryKind.ROLE_ASSIGNED,
    "handover": EntryKind.ROLE_ASSIGNED,
    "scribe_added": EntryKind.ROLE_ASSIGNED,
    "summary_update": EntryKind.FIELD_CHANGED,
    "incident_rename": EntryKind.FIELD_CHANGED,
    "custom_field_value_update": EntryKind.FIELD_CHANGED,
    "incident_timestamp_set": EntryKind.FIELD_CHANGED,
    "incident_type_changed": EntryKind.FIELD_CHANGED,
    "incident_visibility_changed": EntryKind.FIELD_CHANGED,
    "slack_message": EntryKind.MESSAGE,
    "slack_pin": EntryKind.MESSAGE,
    "microsoft_teams_message": EntryKind.MESSAGE,
    "microsoft_teams_pinned_channel_message": EntryKind.MESSAGE,
    "incident_channel_join": EntryKind.JOINED,
    "incident_escalate": EntryKind.ESCALATED,
    "escalation_created": EntryKind.ESCALATED,
    "escalation_acknowledged": EntryKind.ACKNOWLEDGED,
    "pagerduty_incident_triggered": EntryKind.TRIGGERED,
    "pagerduty_incident_acknowledged": EntryKind.ACKNOWLEDGED,
    "pagerduty_incident_resolved": EntryKind.RESOLVED,
}
PINS = frozenset({"slack_pin", "microsoft_teams_pinned_channel_message"})
# Where each content kind names who did it (incident.io's ActorV2), in order of preference.
ACTOR_KEYS = ("updater", "actor", "creator", "user")
# Where it names who it was done to (a UserV2).
SUBJECT_KEYS = ("new_assignee", "incoming_assignee", "assignee", "user")


def _time(value: object) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def _user(user: object) -> Actor | None:
    if not isinstance(user, Mapping) or not user.get("id"):
        return None
    return Actor(
        name=str(user.get("name") or "") or None,
        email=str(user.get("email") or "") or None,
        vendor_id=str(user["id"]),
    )


def _actor(actor: object) -> Actor | None:
    """incident.io's ActorV2: a user, or an API key, a workflow, an alert (not a person)."""
    if not isinstance(actor, Mapping):
        return None
    if person := _user(actor.get("user")):
        return person
    for kind in ("workflow", "api_key", "alert"):
        other = actor.get(kind)
        if isinstance(other, Mapping):
            name = other.get("name") or other.get("title")
            return Actor(name=str(name) if name else kind, vendor_id=other.get("id"), is_bot=True)
    return None


def _detail(content: Mapping[str, Any]) -> str | None:
    role = content.get("role")
    if isinstance(role, Mapping) and role.get("name"):
        return str(role["name"])
    for key in ("new_status", "new_severity"):
        value = content.get(key)
        if isinstance(value, Mapping) and value.get("name"):
            return str(value["name"])
    for key in ("message", "new_summary"):
        if content.get(key):
            return str(content[key])
    return None


def entry_of(entry: Mapping[str, Any], permalink: str | None = None) -> HistoryEntry:
    """One activity log entry as a history entry (pure)."""
    vendor_type = str(entry.get("type") or "")
    body = (entry.get("content") or {}).get(vendor_type)
    content: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    actor = next((a for k in ACTOR_KEYS if (a := _actor(content.get(k)))), None)
    subject = next((u for k in SUBJECT_KEYS if (u := _user(content.get(k)))), None)
    if vendor_type == "scribe_added" and subject is None:
        subject = actor
    detail = "Scribe" if vendor_type == "scribe_added" else _detail(content)
    return HistoryEntry(
        source=HistorySource.INCIDENT_IO,
        id=str(entry.get("id") or ""),
        kind=KINDS.get(vendor_type, EntryKind.OTHER),
        vendor_type=vendor_type,
        at=_time(entry.get("occurred_at") or entry.get("created_at")),
        actor=actor,
        text=str(entry.get("title") or ""),
        link=permalink,
        pinned=vendor_type in PINS,
        subject=subject,
        detail=detail,
    )


class IncidentIoIncidentLog:
    """Implements `hub.ports.IncidentLog` over incident.io's REST API."""

    def __init__(self, client: IncidentIoClient, *, page_size: int = PAGE_SIZE) -> None:
        self._client = client
        self._page_size = page_size

    @classmethod
    def from_config(
        cls, config: IncidentIoConfig, session: aiohttp.ClientSession, *, page_size: int = PAGE_SIZE
    ) -> IncidentIoIncidentLog:
        return cls(IncidentIoClient(config, session), page_size=page_size)

    async def read_log(self, incident_id: str, *, limit: int) -> HistoryRead:
        if limit < 1:
            raise Permanent("incident.io log read: limit must be at least 1")
        incident = await self._client.get_incident(incident_id)
        permalink = incident.get("permalink")
        found: list[dict[str, Any]] = []
        after: str | None = None
        truncated = False
        while True:
            wanted = min(self._page_size, limit - len(found) + 1)  # one more: is there more?
            page = await self._client.activity_page(
                str(incident.get("id") or incident_id), after=after, page_size=wanted
            )
            found += page
            if len(found) > limit:
                found, truncated = found[:limit], True
                break
            if len(page) < wanted or not page:
                break
            after = str(page[-1].get("id") or "")
        link = str(permalink) if permalink else None
        return HistoryRead(entries=tuple(entry_of(e, link) for e in found), truncated=truncated)
