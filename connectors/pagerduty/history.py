"""PagerDuty's incident log as `hub.ports.IncidentLog`: every entry, typed for the timeline.

PagerDuty lists an incident's log newest first with offset pagination. A read asks for
the total on its first page; when the log is longer than the read's limit it fetches
the *oldest* `limit` entries (the trigger, the first acknowledgements: what a timeline
cannot do without) and says it was cut.

Entry types: those PagerDuty documents (`LogEntry.type` in its OpenAPI description:
trigger, acknowledge, unacknowledge, assign, delegate (a reassignment), escalate,
exhaust/repeat escalation path, notify, annotate (a note), snooze, urgency change,
field and custom field value change, reach ack/trigger limit, resolve), and any other
`*_log_entry` PagerDuty sends (status updates and priority changes show in its web log
but not in that enum) by the meaning its name carries; none is dropped.
People: each user agent is looked up (`GET /users/{id}`, cached by the connector) so
entries carry an email, which is how sources are matched to people.

Responder requests are not log entries: they are read from the incident itself
(`incidents_responders`: who was asked, by whom, with which message, and whether they
joined), one `REQUESTED` entry each and a `JOINED` one for those who joined. The
message is what names a role ("please join as Scribe"), for the timeline's people.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.pagerduty.client import PagerDutyClient
from connectors.pagerduty.config import PagerDutyConfig
from connectors.pagerduty.connector import PagerDutyConnector
from hub.errors import Permanent
from hub.ports import Actor, EntryKind, HistoryEntry, HistoryRead, HistorySource

PAGE_SIZE = 100  # PagerDuty's largest `limit`
KINDS = {
    "trigger": EntryKind.TRIGGERED,
    "acknowledge": EntryKind.ACKNOWLEDGED,
    "unacknowledge": EntryKind.UNACKNOWLEDGED,
    "assign": EntryKind.ASSIGNED,
    "delegate": EntryKind.ASSIGNED,
    "escalate": EntryKind.ESCALATED,
    "exhaust_escalation_path": EntryKind.ESCALATED,
    "repeat_escalation_path": EntryKind.ESCALATED,
    "notify": EntryKind.NOTIFIED,
    "annotate": EntryKind.ANNOTATED,
    "resolve": EntryKind.RESOLVED,
    "urgency_change": EntryKind.SEVERITY_CHANGED,
    "priority_change": EntryKind.SEVERITY_CHANGED,
    "field_value_change": EntryKind.FIELD_CHANGED,
    "custom_field_value_change": EntryKind.FIELD_CHANGED,
    "status_update": EntryKind.STATUS_UPDATE,
}


def kind_of(vendor_type: str) -> EntryKind:
    name = vendor_type.removesuffix("_log_entry")
    if name in KINDS:
        return KINDS[name]
    if "status_update" in name:
        return EntryKind.STATUS_UPDATE
    if "priority" in name or "urgency" in name:
        return EntryKind.SEVERITY_CHANGED
    return EntryKind.OTHER


def _time(value: object) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def _reference(ref: object, emails: Mapping[str, str]) -> Actor | None:
    if not isinstance(ref, Mapping) or not ref.get("id"):
        return None
    kind = str(ref.get("type") or "")
    return Actor(
        name=str(ref.get("summary") or ref.get("name") or "") or None,
        email=emails.get(str(ref["id"])) or ref.get("email"),
        vendor_id=str(ref["id"]),
        is_bot=not kind.startswith("user"),
    )


def _detail(entry: Mapping[str, Any]) -> str | None:
    channel = entry.get("channel") if isinstance(entry.get("channel"), Mapping) else {}
    note = entry.get("note") or (channel or {}).get("summary")
    changes = entry.get("changeset")
    if isinstance(changes, list) and changes:
        return "; ".join(str(change) for change in changes)
    if entry.get("type") == "notify_log_entry":
        notification = (channel or {}).get("notification")
        how = notification.get("type") if isinstance(notification, Mapping) else None
        return str(how or (channel or {}).get("type") or "") or None
    return str(note) if note else None


def _labels(entry: Mapping[str, Any]) -> tuple[str, ...]:
    """The channel it came through: "web_trigger", "api", "sms", "auto", ..."""
    channel = entry.get("channel")
    kind = channel.get("type") if isinstance(channel, Mapping) else None
    return (str(kind),) if kind else ()


def entry_of(entry: Mapping[str, Any], emails: Mapping[str, str]) -> HistoryEntry:
    """One PagerDuty log entry as a history entry (pure)."""
    vendor_type = str(entry.get("type") or "log_entry")
    subject = entry.get("user") or next(iter(entry.get("assignees") or ()), None)
    return HistoryEntry(
        source=HistorySource.PAGERDUTY,
        id=str(entry.get("id") or ""),
        kind=kind_of(vendor_type),
        vendor_type=vendor_type,
        at=_time(entry.get("created_at")),
        actor=_reference(entry.get("agent"), emails),
        text=str(entry.get("summary") or ""),
        link=str(entry["html_url"]) if entry.get("html_url") else None,
        subject=_reference(subject, emails),
        detail=_detail(entry),
        labels=_labels(entry),
    )


def responder_entries(
    responder: Mapping[str, Any], emails: Mapping[str, str], link: str | None
) -> list[HistoryEntry]:
    """One `incidents_responders` item: the request, and the join if they joined (pure)."""
    user = _reference(responder.get("user"), emails)
    if user is None or user.vendor_id is None:
        return []
    state = str(responder.get("state") or "")
    requested_at = responder.get("requested_at") or responder.get("updated_at")
    name = user.name or user.email or user.vendor_id
    entries = [
        HistoryEntry(
            source=HistorySource.PAGERDUTY,
            id=f"responder-request:{user.vendor_id}",
            kind=EntryKind.REQUESTED,
            vendor_type="responder_request",
            at=_time(requested_at),
            actor=_reference(responder.get("requester"), emails),
            text=f"{name} was asked to respond",
            link=link,
            subject=user,
            detail=str(responder.get("message") or "") or None,
            labels=(state,) if state else (),
        )
    ]
    if state == "joined" and responder.get("updated_at"):
        entries.append(
            HistoryEntry(
                source=HistorySource.PAGERDUTY,
                id=f"responder-joined:{user.vendor_id}",
                kind=EntryKind.JOINED,
                vendor_type="responder_joined",
                at=_time(responder.get("updated_at")),
                actor=user,
                text=f"{name} joined as a responder",
                link=link,
                subject=user,
            )
        )
    return entries


class PagerDutyIncidentLog:
    """Implements `hub.ports.IncidentLog` over PagerDuty's REST API."""

    def __init__(
        self, client: PagerDutyClient, people: PagerDutyConnector, *, owns_client: bool = True
    ) -> None:
        self._client = client
        self._people = people
        self._owns_client = owns_client

    @classmethod
    def from_config(cls, config: PagerDutyConfig) -> PagerDutyIncidentLog:
        client = PagerDutyClient(config)
        people = PagerDutyConnector(client, user_cache_seconds=config.user_cache_seconds)
        return cls(client, people)

    @classmethod
    def sharing(cls, enrichment: PagerDutyConnector) -> PagerDutyIncidentLog:
        """Reading through the enrichment's connector: its users, and its recent reads of
        an incident and its log, which the timeline then needs not read again."""
        return cls(enrichment.client, enrichment, owns_client=False)

    async def close(self) -> None:
        if self._owns_client:
            await self._client.close()

    async def read_log(self, incident_id: str, *, limit: int) -> HistoryRead:
        if limit < 1:
            raise Permanent("PagerDuty log read: limit must be at least 1")
        recent = self._people.recent_read(incident_id)
        if recent is not None:
            # What the enrichment read at the resolution (and since): no request at all.
            kept = list(recent.log_entries)
            truncated = len(kept) > limit
            oldest_first, incident = kept[:limit], recent.incident
        else:
            oldest_first, truncated = await self._read_entries(incident_id, limit)
            incident = await self._client.get_incident(incident_id)
        responders = [
            r for r in incident.get("incidents_responders") or () if isinstance(r, Mapping)
        ]
        emails = await self._emails([*oldest_first, *responders])
        entries = [entry_of(entry, emails) for entry in oldest_first]
        link = str(incident.get("html_url") or "") or None
        entries += [e for r in responders for e in responder_entries(r, emails, link)]
        return HistoryRead(entries=tuple(sorted(entries, key=lambda e: e.at)), truncated=truncated)

    async def _read_entries(
        self, incident_id: str, limit: int
    ) -> tuple[list[Mapping[str, Any]], bool]:
        """At most the oldest `limit` entries, oldest first, and whether the log is longer."""
        first = await self._client.log_entries_page(
            incident_id, offset=0, limit=min(PAGE_SIZE, limit), total=True
        )
        newest_first = _entries(first)
        total = first.get("total")
        known_total = total if isinstance(total, int) else None
        truncated = False
        if known_total is not None and known_total > limit:
            # The oldest `limit`: offsets [total - limit, total) of a newest-first list.
            truncated = True
            newest_first = []
            offset = known_total - limit
            while offset < known_total:
                page = await self._client.log_entries_page(
                    incident_id, offset=offset, limit=min(PAGE_SIZE, known_total - offset)
                )
                got = _entries(page)
                newest_first += got
                offset += len(got)
                if not got or not page.get("more"):
                    break
        else:
            page = first
            while page.get("more") and len(newest_first) < limit:
                page = await self._client.log_entries_page(
                    incident_id, offset=len(newest_first), limit=PAGE_SIZE
                )
                got = _entries(page)
                if not got:
                    break
                newest_first += got
            if len(newest_first) > limit:
                newest_first, truncated = newest_first[-limit:], True
        # Reversed before the stable sort so entries sharing a second stay oldest first.
        by_time = lambda e: _time(e.get("created_at"))  # noqa: E731
        return sorted(newest_first[::-1], key=by_time), truncated  # noqa: C415

    async def _emails(self, entries: list[Mapping[str, Any]]) -> dict[str, str]:
        users: set[str] = set()
        for entry in entries:
            refs = (entry.get("agent"), entry.get("user"), entry.get("requester"))
            for ref in (*refs, *(entry.get("assignees") or ())):
                if isinstance(ref, Mapping) and str(ref.get("type", "")).startswith("user"):
                    users.add(str(ref["id"]))
        emails = {}
        for user_id in sorted(users):
            user = await self._people.get_user(user_id)
            if user.get("email"):
                emails[user_id] = str(user["email"])
        return emails


def _entries(page: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [e for e in page.get("log_entries") or () if isinstance(e, Mapping)]
