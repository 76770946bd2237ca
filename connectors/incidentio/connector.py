"""incident.io as an incident source (`hub.ports.IncidentIoApi`).

incident.io does not promise webhook order, so the intake re-fetches the incident on
every delivery and treats the answer as the truth; this is that fetch. It also reads
the people a membership names and the post-mortem document (whose status pmhub follows),
and writes that status when pmhub moves the post-mortem on.
"""

from __future__ import annotations

import aiohttp

from connectors.incidentio.client import IncidentIoClient
from connectors.incidentio.config import IncidentIoConfig
from hub.ports import JsonObject


class IncidentIoConnector:
    def __init__(self, client: IncidentIoClient) -> None:
        self._client = client

    @classmethod
    def from_config(
        cls, config: IncidentIoConfig, session: aiohttp.ClientSession
    ) -> IncidentIoConnector:
        return cls(IncidentIoClient(config, session))

    async def get_incident(self, incident_id: str) -> JsonObject:
        """The `incident` object of GET /v2/incidents/{id} (full id or reference number)."""
        return await self._client.get_incident(incident_id)

    async def get_user(self, user_id: str) -> JsonObject:
        return await self._client.get_user(user_id)

    async def get_postmortem_document(self, document_id: str) -> JsonObject:
        return await self._client.get_postmortem_document(document_id)

    async def set_postmortem_status(self, document_id: str, status: str) -> JsonObject:
        return await self._client.update_postmortem_status(document_id, status)
