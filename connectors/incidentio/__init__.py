"""incident.io: the incident re-fetched from its REST API on every (unordered) webhook.

config.py settings · client.py aiohttp on the shared session, errors mapped ·
connector.py `hub.ports.IncidentIoApi` · history.py `hub.ports.IncidentLog` (the activity
log: updates, status changes, roles) · fake/ an incident.io double.
"""

from connectors.incidentio.config import IncidentIoConfig
from connectors.incidentio.connector import IncidentIoConnector
from connectors.incidentio.history import IncidentIoIncidentLog

__all__ = ["IncidentIoConfig", "IncidentIoConnector", "IncidentIoIncidentLog"]
