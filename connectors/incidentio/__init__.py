"""incident.io: the incident re-fetched from its REST API on every (unordered) webhook.

config.py settings · client.py aiohttp on the shared session, errors mapped ·
connector.py `hub.ports.IncidentIoApi` · fake/ an incident.io double.
"""

from connectors.incidentio.config import IncidentIoConfig
from connectors.incidentio.connector import IncidentIoConnector

__all__ = ["IncidentIoConfig", "IncidentIoConnector"]
