"""Email as `hub.ports.Mailer`: one message per effect key, its Message-ID derived from it.

The message is built purely (`build_message`) so a test can read exactly what is sent:
plain text always, an HTML alternative when given, `Auto-Submitted: auto-generated`
(RFC 3834) so that out-of-office replies are not sent back to pmhub's address, and a
Message-ID that is the same for every attempt with the same key.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

from connectors.email.client import SmtpClient
from connectors.email.config import EmailConfig
from hub.errors import Permanent
from hub.ports import MailMessage, SentMail


def message_id_for(key: str, domain: str) -> str:
    """`<pmhub.<sha256 of the key, 32 hex>@domain>`: stable, and no key text leaks out."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<pmhub.{digest}@{domain}>"


def build_message(
    message: MailMessage, *, sender: str, message_id: str, now: datetime
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = ", ".join(message.to)
    if message.cc:
        mail["Cc"] = ", ".join(message.cc)
    if message.reply_to:
        mail["Reply-To"] = message.reply_to
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message.text)
    if message.html is not None:
        mail.add_alternative(message.html, subtype="html")
        # The library picks a random boundary; one derived from the Message-ID makes a
        # retry's body byte-identical to the first attempt's.
        digest = hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:24]
        mail.set_boundary(f"==pmhub-{digest}==")
    return mail


def _addresses(values: tuple[str, ...]) -> list[str]:
    return [address for _, address in getaddresses(list(values)) if address]


class EmailConnector:
    """Implements `hub.ports.Mailer` over SMTP."""

    def __init__(self, client: SmtpClient, config: EmailConfig) -> None:
        self._client = client
        self._config = config

    @classmethod
    def from_config(cls, config: EmailConfig) -> EmailConnector:
        return cls(SmtpClient(config), config)

    def message_id_for(self, key: str) -> str:
        return message_id_for(key, self._config.id_domain)

    async def send(self, message: MailMessage) -> SentMail:
        recipients = _addresses(message.to + message.cc)
        if not recipients:
            raise Permanent(f"email {message.key}: no recipients")
        message_id = self.message_id_for(message.key)
        mail = build_message(
            message,
            sender=str(self._config.sender),
            message_id=message_id,
            now=datetime.now(UTC),
        )
        refused = await self._client.send(mail, self._config.sender.addr_spec, recipients)
        accepted = tuple(r for r in recipients if r not in refused)
        return SentMail(message_id=message_id, accepted=accepted, refused=dict(refused))
