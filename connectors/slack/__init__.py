"""Slack: DMs, channel posts with Block Kit, `/postmortem` replies, and the incident
channel's history read for the timeline (hub.ports.ChannelHistory).

`SlackNotifier` (notifier.py) implements `hub.ports.Notifier` on a `SlackConnector`.
"""

from connectors.slack.config import SlackConfig
from connectors.slack.connector import SlackConnector
from connectors.slack.history import SlackChannelHistory

__all__ = ["SlackChannelHistory", "SlackConfig", "SlackConnector"]
