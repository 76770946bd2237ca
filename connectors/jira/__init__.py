"""Jira: follow-up tickets filed, found again after a lost answer, closed and reopened.

config.py settings · client.py the `jira` package made async, errors mapped (errors.py) ·
payloads.py pure builders (fields, ADF, marker labels, JQL) · connector.py
`hub.ports.Tracker` · fake/ (api, issues, jql) a Jira Cloud/DC double.
"""

from connectors.jira.config import JiraConfig
from connectors.jira.connector import JiraConnector

__all__ = ["JiraConfig", "JiraConnector"]
