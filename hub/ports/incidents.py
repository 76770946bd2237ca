"""Incident sources: PagerDuty and incident.io REST, for enrichment and re-fetching.

Incident sources return the vendor's own JSON objects: the one place that understands
a vendor's incident shape is its adapter in `hub/intake/adapters/`, which reads the same
shapes from webhooks and from these REST answers. Every method raises only
`hub.errors` types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

JsonObject = Mapping[str, Any]


class PagerDutyApi(Protocol):
    """PagerDuty REST: enrichment for incidents and, later, write-back notes."""

    async def get_incident(self, incident_id: str) -> JsonObject:
        """GET /incidents/{id} with acknowledgers, assignees and responders included."""
        ...

    async def list_log_entries(
        self, incident_id: str, since: datetime | None = None
    ) -> Sequence[JsonObject]:
        """GET /incidents/{id}/log_entries, every page, oldest first; with `since`, only
        the entries created at or after it."""
        ...

    async def get_user(self, user_id: str) -> JsonObject:
        """GET /users/{id} (cached briefly by the connector)."""
        ...

    async def primary_oncall(self, escalation_policy_id: str) -> JsonObject | None:
        """The level-1 on-call user reference of an escalation policy, if any."""
        ...


class IncidentIoApi(Protocol):
    """incident.io REST: the source of truth re-fetched on every (unordered) webhook."""

    async def get_incident(self, incident_id: str) -> JsonObject:
        """GET /v2/incidents/{id}: the `incident` object of the answer."""
        ...

    async def get_user(self, user_id: str) -> JsonObject:
        """GET /v2/users/{id}: the `user` (a membership names a user by id only)."""
        ...

    async def get_postmortem_document(self, document_id: str) -> JsonObject:
        """GET /v1/postmortem_documents/{id}: the document with its `status`."""
        ...

    async def set_postmortem_status(self, document_id: str, status: str) -> JsonObject:
        """PUT /v1/postmortem_documents/{id}: `in_progress`, `in_review` or `completed`."""
        ...
