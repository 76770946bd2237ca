"""The operations channel in Slack: where the job system's rare notices are posted.

Dead jobs and paused connectors are logged at error level in any case (hub.jobs.alerts);
with `worker.alert_channel` set and Slack configured, they are posted there as well.
Each notice carries an effect key of its own, so the Slack connector's exactly-once
machinery (message metadata) treats it like any other post.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from connectors.slack.blocks import ChatMessage
from connectors.slack.connector import SlackConnector


def slack_poster(chat: SlackConnector, channel: str) -> Callable[[str], Awaitable[object]]:
    async def post(text: str) -> object:
        return await chat.post(channel, ChatMessage(text=text), effect_key=f"ops:{uuid.uuid4()}")

    return post
