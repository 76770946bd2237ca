"""PagerDuty: REST enrichment of incidents (who, how, when) and incident notes.

config.py settings · client.py the `pagerduty` SDK made async, errors mapped ·
connector.py `hub.ports.PagerDutyApi` · history.py `hub.ports.IncidentLog` (every log
entry, typed for the timeline) · fake/ (with api.py) a PagerDuty double.
"""

from connectors.pagerduty.config import PagerDutyConfig
from connectors.pagerduty.connector import PagerDutyConnector
from connectors.pagerduty.history import PagerDutyIncidentLog

__all__ = ["PagerDutyConfig", "PagerDutyConnector", "PagerDutyIncidentLog"]
