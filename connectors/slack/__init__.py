"""Slack: DMs, channel posts with Block Kit, `/postmortem` replies (implements hub.ports.Chat)."""

from connectors.slack.config import SlackConfig
from connectors.slack.connector import SlackConnector

__all__ = ["SlackConfig", "SlackConnector"]
