"""The Slack fake's channel history: people's messages, threads, reactions, joins, pins and
permalinks, as the timeline reader reads them."""

from __future__ import annotations

from typing import Any, Protocol

Json = dict[str, Any]


class _Channels(Protocol):
    domain: str
    pins: dict[str, list[Json]]
    messages: dict[str, list[Json]]

    def _next_ts(self) -> str: ...
    def find_message(self, channel: str, ts: str) -> Json | None: ...
    def add_message(
        self,
        channel_id: str,
        text: str,
        *,
        user: str = ...,
        subtype: str | None = ...,
        at: float | None = ...,
    ) -> Json: ...


class ChannelHistorySeeding:
    """Mixed into `FakeSlack`: what people do in an incident channel."""

    def add_message(
        self: _Channels,
        channel_id: str,
        text: str,
        *,
        user: str = "U0HUMAN001",
        thread_ts: str | None = None,
        subtype: str | None = None,
        reactions: dict[str, list[str]] | None = None,
        broadcast: bool = False,
        at: float | None = None,
    ) -> Json:
        """Someone else's message (a thread reply with `thread_ts`), so history has more
        in it than pmhub's posts. `reactions`: emoji name -> the users who reacted.
        `at` (a Unix time) says when it was written; default: now."""
        ts = f"{at:.6f}" if at is not None else self._next_ts()
        message: Json = {"type": "message", "user": user, "text": text, "ts": ts}
        if subtype:
            message["subtype"] = subtype
        if reactions:
            message["reactions"] = [
                {"name": name, "users": users, "count": len(users)}
                for name, users in reactions.items()
            ]
        if thread_ts is not None:
            parent = self.find_message(channel_id, thread_ts)
            if parent is None:
                raise LookupError(f"no message {thread_ts} in {channel_id}")
            message["thread_ts"] = thread_ts
            message["parent_user_id"] = parent.get("user", "")
            if broadcast:
                message["subtype"] = "thread_broadcast"
            parent["thread_ts"] = thread_ts
            parent["reply_count"] = int(parent.get("reply_count", 0)) + 1
            users = [*parent.get("reply_users", []), user]
            parent["reply_users"] = list(dict.fromkeys(users))
            parent["reply_users_count"] = len(parent["reply_users"])
            parent["latest_reply"] = message["ts"]
        self.messages[channel_id].append(message)
        return message

    def join(self: _Channels, channel_id: str, user: str, *, at: float | None = None) -> Json:
        """A person joins the channel: Slack posts a `channel_join` message."""
        return self.add_message(
            channel_id,
            f"<@{user}> has joined the channel",
            user=user,
            subtype="channel_join",
            at=at,
        )

    def pin(self: _Channels, channel_id: str, ts: str, *, by: str = "U0HUMAN001") -> None:
        message = self.find_message(channel_id, ts)
        if message is None:
            raise LookupError(f"no message {ts} in {channel_id}")
        message["pinned_to"] = [channel_id]
        item = {"type": "message", "created": int(float(ts)) + 1, "created_by": by}
        self.pins.setdefault(channel_id, []).append({**item, "channel": channel_id, "ts": ts})

    def permalink(self: _Channels, channel_id: str, message: Json) -> str:
        link = f"https://{self.domain}/archives/{channel_id}/p{message['ts'].replace('.', '')}"
        thread = message.get("thread_ts")
        if thread and thread != message["ts"]:
            link += f"?thread_ts={thread}&cid={channel_id}"
        return link
