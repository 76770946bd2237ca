"""Slack: DMs, channel posts with Block Kit, `/postmortem` replies.

`SlackNotifier` (notifier.py) implements `hub.ports.Notifier` on a `SlackConnector`.
"""

from connectors.slack.config import SlackConfig
from connectors.slack.connector import SlackConnector

__all__ = ["SlackConfig", "SlackConnector"]
