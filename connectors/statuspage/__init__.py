"""Atlassian Statuspage: the reviewed external message, published on the status page.

config.py settings · client.py aiohttp on the shared session (no maintained Python
client exists), paced to 1 request/s per key, errors mapped · connector.py
`hub.ports.StatusPage`, exactly once by marker · fake/ a Statuspage double.
"""

from connectors.statuspage.config import StatuspageConfig
from connectors.statuspage.connector import StatuspageConnector

__all__ = ["StatuspageConfig", "StatuspageConnector"]
