"""Slack: DMs, channel posts with Block Kit, `/postmortem` replies (implements hub.ports.Chat),
and the incident channel's history read for the timeline (hub.ports.ChannelHistory)."""

from connectors.slack.config import SlackConfig
from connectors.slack.connector import SlackConnector
from connectors.slack.history import SlackChannelHistory

__all__ = ["SlackChannelHistory", "SlackConfig", "SlackConnector"]
