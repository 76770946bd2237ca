"""An aiosmtpd server in-process (STARTTLS with a throwaway CA, AUTH), and mailers for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from connectors.email import EmailConfig, EmailConnector
from connectors.email.fake import FakeSmtp
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["loopback_tls"]

USER, PASSWORD = "pmhub", "s3cret-smtp-password"
SENDER = "pmhub <pmhub@example.com>"


@pytest.fixture
async def smtp(loopback_tls: LoopbackTls) -> AsyncIterator[FakeSmtp]:
    fake = FakeSmtp(server_tls=loopback_tls.server_context, users={USER: PASSWORD})
    await fake.start()
    yield fake
    await fake.stop()


MailerFactory = Callable[..., EmailConnector]


@pytest.fixture
def make_mailer(smtp: FakeSmtp, loopback_tls: LoopbackTls) -> MailerFactory:
    def make(**overrides: object) -> EmailConnector:
        settings: dict[str, object] = {
            "host": "127.0.0.1",
            "port": smtp.port,
            "from_address": SENDER,
            "username": USER,
            "password": PASSWORD,
            "ca_bundle": str(loopback_tls.ca_pem),
            "timeout_seconds": 5,
            **overrides,
        }
        return EmailConnector.from_config(EmailConfig.model_validate(settings))

    return make


@pytest.fixture
def mailer(make_mailer: MailerFactory) -> EmailConnector:
    return make_mailer()
