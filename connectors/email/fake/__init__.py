"""An SMTP server in-process: aiosmtpd, the maintained asyncio SMTP server, on loopback.

Not a protocol double written by hand: the real server code speaks SMTP (EHLO,
STARTTLS per RFC 3207, AUTH PLAIN/LOGIN per RFC 4954, pipelining rules, 530 before
STARTTLS or AUTH when required) and the fake only decides what to do with each
envelope: keep the message, refuse a recipient (`refuse_recipient`, with the reply
code and text a real server would give), refuse the DATA, or commit the message and
drop the connection before the reply (`drop_after_commit`). Used by the tests, and
later by `pmhub demo` to show the email arriving.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import warnings
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Literal

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Security = Literal["starttls", "tls", "none"]


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    authenticated_as: str | None
    over_tls: bool

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)  # noqa: S101 - policy.default makes one
        return parsed

    @property
    def message_id(self) -> str | None:
        value = self.message["Message-ID"]
        return str(value) if value is not None else None


@dataclass
class _Refusal:
    code: int
    text: str
    times: int | None
    address: str | None = None  # RCPT only; None: every recipient


@dataclass
class FakeSmtp:
    """Start it, point `EmailConfig(host, port, ...)` at it, read `received`."""

    security: Security = "starttls"
    server_tls: ssl.SSLContext | None = None  # required unless security is "none"
    users: dict[str, str] = field(default_factory=dict)  # login -> password; empty: no AUTH
    hostname: str = "smtp.fake.test"
    received: list[ReceivedMail] = field(default_factory=list)
    sessions: int = 0
    port: int = 0  # where it listens, once started
    _rcpt_refusals: list[_Refusal] = field(default_factory=list)
    _data_refusals: list[_Refusal] = field(default_factory=list)
    _drops: int = 0
    _server: asyncio.Server | None = None

    def __post_init__(self) -> None:
        if self.security != "none" and self.server_tls is None:
            raise ValueError(f"security {self.security!r} needs server_tls")

    # -- scripting --------------------------------------------------------------

    def refuse_recipient(
        self,
        address: str | None = None,
        *,
        code: int = 550,
        text: str = "",
        times: int | None = None,
    ) -> None:
        """Answer RCPT TO for `address` (None: anyone) with `code`, e.g. 550 or 452."""
        reply = text or {550: "5.1.1 Mailbox unavailable", 452: "4.2.2 Mailbox full"}.get(
            code, "Refused"
        )
        self._rcpt_refusals.append(_Refusal(code, reply, times, address and address.lower()))

    def refuse_data(self, *, code: int = 554, text: str = "", times: int | None = 1) -> None:
        """Answer the message's final "." with `code` (554 rejected, 451 try later)."""
        reply = text or ("5.7.1 Message rejected" if code >= 500 else "4.3.0 Try again later")  # noqa: PLR2004
        self._data_refusals.append(_Refusal(code, reply, times))

    def drop_after_commit(self, *, times: int = 1) -> None:
        """Keep the message, then close the connection instead of answering 250."""
        self._drops += times

    def by_message_id(self, message_id: str) -> list[ReceivedMail]:
        return [mail for mail in self.received if mail.message_id == message_id]

    # -- serving ----------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on loopback; the port."""
        # aiosmtpd sets its own deprecated Session.login_data on every AUTH and logs a
        # warning about it: noise in the demo's output, nothing a reader can act on.
        logging.getLogger("mail.log").addFilter(_quiet_login_data)
        loop = asyncio.get_running_loop()
        implicit = self.security == "tls"
        self._server = await loop.create_server(
            self._protocol, host, port, ssl=self.server_tls if implicit else None
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        logging.getLogger("mail.log").removeFilter(_quiet_login_data)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _protocol(self) -> SMTP:
        self.sessions += 1
        starttls = self.security == "starttls"
        with warnings.catch_warnings():
            # Over implicit TLS the connection is encrypted, but aiosmtpd only knows
            # STARTTLS and warns that AUTH would go in clear. It would not.
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            return self._smtp(starttls=starttls)

    def _smtp(self, *, starttls: bool) -> SMTP:
        return SMTP(
            _Handler(self),
            hostname=self.hostname,
            tls_context=self.server_tls if starttls else None,
            require_starttls=starttls,
            authenticator=self._authenticate if self.users else None,
            auth_required=bool(self.users),
            auth_require_tls=starttls,
        )

    def _authenticate(
        self, _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = data.login.decode("utf-8", "replace")
        ok = self.users.get(login) == data.password.decode("utf-8", "replace")
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

    def _take(self, refusals: list[_Refusal], address: str | None = None) -> _Refusal | None:
        for refusal in refusals:
            if refusal.address in (None, address):
                if refusal.times is not None:
                    refusal.times -= 1
                    if refusal.times <= 0:
                        refusals.remove(refusal)
                return refusal
        return None


def _quiet_login_data(record: logging.LogRecord) -> bool:
    return "login_data is deprecated" not in record.getMessage()


class _Handler:
    def __init__(self, fake: FakeSmtp) -> None:
        self._fake = fake

    # aiosmtpd's hook names.
    async def handle_RCPT(
        self,
        _server: SMTP,
        _session: Session,
        envelope: Envelope,
        address: str,
        _options: list[str],
    ) -> str:
        refusal = self._fake._take(self._fake._rcpt_refusals, address.lower())
        if refusal is not None:
            return f"{refusal.code} {refusal.text}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refusal = self._fake._take(self._fake._data_refusals)
        if refusal is not None:
            return f"{refusal.code} {refusal.text}"
        data = envelope.original_content or b""
        login = session.auth_data if isinstance(session.auth_data, str) else None
        self._fake.received.append(
            ReceivedMail(
                mail_from=str(envelope.mail_from),
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=data,
                authenticated_as=login,
                over_tls=session.ssl is not None or self._fake.security == "tls",
            )
        )
        transport = server.transport
        if self._fake._drops > 0 and isinstance(transport, asyncio.Transport):
            self._fake._drops -= 1
            transport.abort()  # committed; the client never hears 250
        return "250 Message accepted for delivery"
