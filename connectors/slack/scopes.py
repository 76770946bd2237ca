"""The bot scopes pmhub's Slack app needs: one list, for `pmhub doctor` to hold a token to.

Derived from the Web API methods the connector calls and Slack's documentation of each
(tests/deploy/test_slack_manifest.py does the derivation and fails when this list, the
derivation or deploy/slack/manifest.yaml disagree), plus `commands` for /postmortem.
"""

from __future__ import annotations

BOT_SCOPES: frozenset[str] = frozenset(
    {
        "chat:write",  # chat.postMessage, chat.update
        "commands",  # the /postmortem slash command
        "users:read",  # requested together with users:read.email, as Slack requires
        "users:read.email",  # users.lookupByEmail
        "im:write",  # conversations.open
        "im:history",  # conversations.history on its own DMs
        "channels:history",  # conversations.history, .replies: public channels
        "groups:history",  # ... and private ones
        "pins:read",  # pins.list
    }
)
