"""SMTP transport: aiosmtplib (maintained, asyncio-native), one connection per message.

Why a connection per message: pmhub sends a handful of emails per post-mortem, hours
apart; a pooled SMTP connection would be closed by the server's idle timeout long
before the next one, and a fresh connection makes each send's outcome its own.

TLS: `starttls` requires the server to offer STARTTLS (aiosmtplib's `start_tls=True`
fails otherwise) rather than silently sending in clear; certificates are verified
against the system's roots plus `ca_bundle`.

Replies map to pmhub's taxonomy (RFC 5321 §4.2.1): 535/534/530 and a refused TLS
handshake or certificate -> AuthFailed (every send would fail alike: pause and alert);
other 5xx -> Permanent; 4xx -> Transient; no reply (refused, reset, timed out,
disconnected) -> Transient. Some recipients refused while others were taken is a
success that reports the refused ones; all refused is Permanent if any refusal was a
5xx, else Transient.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from email.message import EmailMessage

import aiosmtplib

from connectors.email.config import EmailConfig
from hub.errors import AuthFailed, ConnectorError, Permanent, Transient

MESSAGE_LIMIT = 300
# 530: authentication required; 534: mechanism too weak; 535: credentials invalid.
AUTH_CODES = frozenset({530, 534, 535})
PERMANENT_FROM = 500
TRANSIENT_FROM = 400


def _reply(code: int, message: str) -> str:
    return f"{code} {message.strip()}"[:MESSAGE_LIMIT]


def error_for_code(code: int, message: str, what: str) -> ConnectorError:
    text = f"SMTP {what}: {_reply(code, message)}"
    if code in AUTH_CODES:
        return AuthFailed(text)
    if code >= PERMANENT_FROM:
        return Permanent(text)
    if code >= TRANSIENT_FROM:
        return Transient(text)
    # A 2xx/3xx where the client wanted another: the server is confused; try later.
    return Transient(text)


def _tls_context(config: EmailConfig) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if config.ca_bundle is not None:
        context.load_verify_locations(cafile=str(config.ca_bundle))
    return context


class SmtpClient:
    def __init__(self, config: EmailConfig) -> None:
        self._config = config
        self._tls = _tls_context(config) if config.security != "none" else None

    def _connection(self) -> aiosmtplib.SMTP:
        config = self._config
        password = config.password.get_secret_value() if config.password else None
        return aiosmtplib.SMTP(
            hostname=config.host,
            port=config.effective_port,
            username=config.username,
            password=password,
            local_hostname=config.local_hostname,
            timeout=config.timeout_seconds,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            tls_context=self._tls,
        )

    async def send(
        self, message: EmailMessage, sender: str, recipients: Sequence[str]
    ) -> Mapping[str, str]:
        """Deliver to the server; the recipients it refused (address -> reply)."""
        smtp = self._connection()
        try:
            await smtp.connect()  # EHLO, STARTTLS, EHLO again and AUTH, as configured
            refused, _ = await smtp.send_message(message, sender=sender, recipients=recipients)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise _all_refused(exc) from None
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise AuthFailed(f"SMTP AUTH: {_reply(exc.code, exc.message)}") from None
        except aiosmtplib.SMTPResponseException as exc:
            raise error_for_code(exc.code, exc.message, _stage(exc)) from None
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as exc:
            # Possibly after the server took the message: the retry sends the same
            # Message-ID, which receivers de-duplicate (see hub.ports.mail).
            raise Transient(f"SMTP: {type(exc).__name__}: {exc}") from None
        except ssl.SSLError as exc:
            raise AuthFailed(f"SMTP TLS with {self._config.host}: {exc}") from None
        except aiosmtplib.SMTPConnectError as exc:
            raise Transient(f"SMTP connect to {self._config.host}: {exc}") from None
        except aiosmtplib.SMTPException as exc:
            # The client refused to go on: STARTTLS or AUTH not offered by the server.
            # Every send would fail the same way until the configuration changes.
            raise AuthFailed(f"SMTP with {self._config.host}: {exc}") from None
        except OSError as exc:
            raise Transient(f"SMTP: {type(exc).__name__}: {exc}") from None
        finally:
            if smtp.is_connected:
                await _quit(smtp)
        return {address: _reply(r.code, r.message) for address, r in refused.items()}


def _stage(exc: aiosmtplib.SMTPResponseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return f"MAIL FROM {exc.sender}"
    if isinstance(exc, aiosmtplib.SMTPDataError):
        return "DATA"
    if isinstance(exc, aiosmtplib.SMTPHeloError):
        return "EHLO"
    return "command"


def _all_refused(exc: aiosmtplib.SMTPRecipientsRefused) -> ConnectorError:
    replies = "; ".join(
        f"{each.recipient}: {_reply(each.code, each.message)}" for each in exc.recipients
    )
    text = f"SMTP RCPT TO refused every recipient: {replies}"[: MESSAGE_LIMIT * 2]
    if any(each.code >= PERMANENT_FROM for each in exc.recipients):
        return Permanent(text)
    return Transient(text)


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    # The message is delivered (or not) by now; a failing QUIT changes nothing.
    try:
        await smtp.quit()
    except (aiosmtplib.SMTPException, OSError):
        smtp.close()
