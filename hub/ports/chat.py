"""Chat: where people meet pmhub (Slack DMs, channel posts, `/postmortem` replies).

The engine decides *what* to say (a `ChatMessage`, built by a connector's pure
message builders) and *to whom*; a `Chat` connector delivers it. Every method
raises only `hub.errors` types.

Chat platforms have no idempotency key, so exactly-once delivery is the engine's
and the connector's shared job: each post carries its effect key (stored with
the message), and a post whose outcome is unknown (a timeout, a crash between
sending and recording) is retried with `unknown_outcome=True`, which makes the
connector look for the earlier message before posting again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

Block = Mapping[str, Any]
"""One Block Kit block, as the vendor's JSON."""


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Where a posted message lives: enough to edit it later (Slack: channel id and ts)."""

    channel: str
    ts: str


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """What to say: rich `blocks`, and `text` for notifications and screen readers.

    `text` is never empty: it is what a phone's notification and a screen reader
    show, and what a client that cannot render the blocks falls back to.
    """

    text: str
    blocks: tuple[Block, ...] = ()

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("a chat message needs a plain-text fallback")


class Chat(Protocol):
    async def lookup_user(self, email: str) -> str | None:
        """The chat user id for an email; None when nobody has that email (never raises for it).

        A person without an account is then named by name/email in messages, not dropped.
        """
        ...

    async def open_dm(self, user_id: str) -> str:
        """The direct-message channel with a user (opened if needed)."""
        ...

    async def post(
        self,
        channel: str,
        message: ChatMessage,
        *,
        effect_key: str,
        unknown_outcome: bool = False,
    ) -> MessageRef:
        """Post to a channel id, or to a user id (their DM with pmhub).

        `unknown_outcome=True` says an earlier attempt with this `effect_key` may have
        been delivered: the connector looks for it first and returns it if found.
        """
        ...

    async def update(self, ref: MessageRef, message: ChatMessage) -> MessageRef:
        """Edit a message pmhub posted earlier, in place."""
        ...

    async def find_posted(self, channel: str, effect_key: str) -> MessageRef | None:
        """The message pmhub posted for `effect_key` in the channel's recent history, if any."""
        ...

    async def respond(
        self,
        response_url: str,
        message: ChatMessage,
        *,
        ephemeral: bool = True,
        replace_original: bool = False,
    ) -> None:
        """Answer a command or button press through the URL the platform gave with it."""
        ...
