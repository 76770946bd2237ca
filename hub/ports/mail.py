"""Email: the post-mortem's results sent to the stakeholders the policy lists.

How the engine uses it::

    sent = await mailer.send(MailMessage(key=intent.key, to=..., subject=..., text=...))
    # record sent.message_id in the effects ledger: the ledger, not the mailer, is the
    # record of which keys were sent.

Exactly once, as far as mail allows: SMTP has no request id, and a connection that
drops after the message's final "." but before the server's reply leaves the outcome
unknown. So the Message-ID is derived from `key` (`message_id_for`): a retry sends the
*same* message, which mail systems and clients that de-duplicate by Message-ID show
once. A send the ledger knows succeeded is never repeated.

Every method raises only `hub.errors` types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class MailMessage:
    key: str  # the effect key, e.g. "pm:pagerduty:P1:mail:results": the message's identity
    to: tuple[str, ...]
    subject: str
    text: str  # the plain-text body (always sent)
    html: str | None = None  # an HTML alternative
    cc: tuple[str, ...] = ()
    reply_to: str | None = None


@dataclass(frozen=True, slots=True)
class SentMail:
    message_id: str  # "<...@domain>", as in the header
    accepted: tuple[str, ...]  # recipients the server took
    refused: Mapping[str, str] = field(default_factory=dict)  # recipient -> server's reply


class Mailer(Protocol):
    def message_id_for(self, key: str) -> str:
        """The Message-ID a message with this key is sent with (stable across retries)."""
        ...

    async def send(self, message: MailMessage) -> SentMail:
        """Send once. Some recipients refused while others were taken is a success that
        lists them in `refused`; all refused is `hub.errors.Permanent`."""
        ...
