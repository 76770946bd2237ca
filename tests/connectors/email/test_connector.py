"""The results email through a real SMTP server: STARTTLS, AUTH, refusals, lost replies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr, ValidationError

from connectors.email import EmailConfig, EmailConnector, build_message, message_id_for
from connectors.email.fake import FakeSmtp
from hub.errors import AuthFailed, Permanent, Transient
from hub.ports import MailMessage
from tests.connectors.email.conftest import PASSWORD, SENDER, USER, MailerFactory
from tests.support.tls import LoopbackTls

RESULTS = MailMessage(
    key="pm:pagerduty:PGR0VU2:mail:results",
    to=("Eng Leads <eng-leads@example.com>", "cto@example.com"),
    cc=("support@example.com",),
    subject="Post-mortem PD-1042: Checkout API 5xx — results",
    text="Summary: a config push broke checkout for 45 minutes.\n\nDocument: https://docs/x",
    html="<p>Summary: a config push broke checkout for 45 minutes.</p>",
    reply_to="alice@example.com",
)


async def test_sends_over_starttls_with_auth(mailer: EmailConnector, smtp: FakeSmtp) -> None:
    sent = await mailer.send(RESULTS)

    assert sent.message_id == mailer.message_id_for(RESULTS.key)
    assert sent.accepted == ("eng-leads@example.com", "cto@example.com", "support@example.com")
    assert sent.refused == {}
    [mail] = smtp.received
    assert mail.over_tls
    assert mail.authenticated_as == USER
    assert mail.mail_from == "pmhub@example.com"
    assert mail.rcpt_tos == sent.accepted
    message = mail.message
    assert message["Message-ID"] == sent.message_id
    assert message["From"] == SENDER
    assert message["To"] == "Eng Leads <eng-leads@example.com>, cto@example.com"
    assert message["Cc"] == "support@example.com"
    assert message["Reply-To"] == "alice@example.com"
    assert message["Subject"] == RESULTS.subject
    assert message["Auto-Submitted"] == "auto-generated"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None
    assert "45 minutes" in plain.get_content()
    assert html is not None
    assert "<p>Summary" in html.get_content()


async def test_sends_over_implicit_tls(loopback_tls: LoopbackTls) -> None:
    server = FakeSmtp(
        security="tls", server_tls=loopback_tls.server_context, users={USER: PASSWORD}
    )
    port = await server.start()
    try:
        config = EmailConfig(
            host="127.0.0.1",
            port=port,
            security="tls",
            from_address=SENDER,
            username=USER,
            password=SecretStr(PASSWORD),
            ca_bundle=loopback_tls.ca_pem,
        )
        sent = await EmailConnector.from_config(config).send(RESULTS)
    finally:
        await server.stop()
    [mail] = server.received
    assert mail.message_id == sent.message_id
    assert mail.authenticated_as == USER


async def test_a_plain_relay_without_auth() -> None:
    relay = FakeSmtp(security="none")
    port = await relay.start()
    try:
        config = EmailConfig(host="127.0.0.1", port=port, security="none", from_address=SENDER)
        await EmailConnector.from_config(config).send(RESULTS)
    finally:
        await relay.stop()
    [mail] = relay.received
    assert not mail.over_tls
    assert mail.authenticated_as is None


def test_the_message_id_is_derived_from_the_key() -> None:
    first = message_id_for("pm:x:mail", "example.com")
    assert first == message_id_for("pm:x:mail", "example.com")
    assert first != message_id_for("pm:y:mail", "example.com")
    assert first.startswith("<pmhub.")
    assert first.endswith("@example.com>")
    assert "pm:x" not in first


def test_build_message_is_pure() -> None:
    now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    one = build_message(RESULTS, sender=SENDER, message_id="<a@b>", now=now)
    two = build_message(RESULTS, sender=SENDER, message_id="<a@b>", now=now)
    assert one.as_bytes() == two.as_bytes()
    assert one["Date"] == "Tue, 24 Nov 2026 15:00:00 +0000"


async def test_a_retry_after_a_lost_reply_resends_the_same_message_id(
    mailer: EmailConnector, smtp: FakeSmtp
) -> None:
    smtp.drop_after_commit()
    with pytest.raises(Transient):
        await mailer.send(RESULTS)
    retried = await mailer.send(RESULTS)

    # SMTP cannot tell a retry from a new message; receivers de-duplicate by Message-ID.
    copies = smtp.by_message_id(retried.message_id)
    assert len(copies) == 2
    assert (
        copies[0].data == copies[1].data or copies[0].message["Date"] != copies[1].message["Date"]
    )
    assert {c.message["Subject"] for c in copies} == {RESULTS.subject}


async def test_some_recipients_refused_is_a_success_that_names_them(
    mailer: EmailConnector, smtp: FakeSmtp
) -> None:
    smtp.refuse_recipient("cto@example.com", code=550)
    sent = await mailer.send(RESULTS)
    assert sent.accepted == ("eng-leads@example.com", "support@example.com")
    assert sent.refused == {"cto@example.com": "550 5.1.1 Mailbox unavailable"}
    [mail] = smtp.received
    assert "cto@example.com" not in mail.rcpt_tos


@pytest.mark.parametrize(
    ("code", "error"), [(550, Permanent), (452, Transient)], ids=["5xx", "4xx"]
)
async def test_every_recipient_refused(
    mailer: EmailConnector, smtp: FakeSmtp, code: int, error: type[Exception]
) -> None:
    smtp.refuse_recipient(code=code)
    with pytest.raises(error, match=f"refused every recipient.*{code}"):
        await mailer.send(RESULTS)
    assert smtp.received == []


@pytest.mark.parametrize(("code", "error"), [(554, Permanent), (451, Transient)])
async def test_the_message_refused_at_data(
    mailer: EmailConnector, smtp: FakeSmtp, code: int, error: type[Exception]
) -> None:
    smtp.refuse_data(code=code)
    with pytest.raises(error, match=f"DATA: {code}"):
        await mailer.send(RESULTS)


async def test_a_wrong_password_is_auth_failed_and_not_quoted(make_mailer: MailerFactory) -> None:
    with pytest.raises(AuthFailed, match="535") as caught:
        await make_mailer(password="wrong-password-xyz").send(RESULTS)
    assert "wrong-password-xyz" not in str(caught.value)


async def test_no_auth_where_the_server_requires_it(make_mailer: MailerFactory) -> None:
    with pytest.raises(AuthFailed, match="530"):
        await make_mailer(username=None, password=None).send(RESULTS)


async def test_an_untrusted_certificate_is_auth_failed(make_mailer: MailerFactory) -> None:
    with pytest.raises(AuthFailed, match="TLS"):
        await make_mailer(ca_bundle=None).send(RESULTS)


async def test_starttls_required_but_not_offered() -> None:
    relay = FakeSmtp(security="none")
    port = await relay.start()
    try:
        config = EmailConfig(host="127.0.0.1", port=port, from_address=SENDER)
        with pytest.raises(AuthFailed, match="STARTTLS"):
            await EmailConnector.from_config(config).send(RESULTS)
    finally:
        await relay.stop()
    assert relay.received == []


async def test_nobody_listening_is_transient(smtp: FakeSmtp, make_mailer: MailerFactory) -> None:
    await smtp.stop()
    with pytest.raises(Transient, match="connect"):
        await make_mailer().send(RESULTS)


async def test_no_recipients_is_permanent(mailer: EmailConnector) -> None:
    with pytest.raises(Permanent, match="no recipients"):
        await mailer.send(MailMessage(key="k", to=(), subject="s", text="t"))


def test_configuration() -> None:
    base = {"host": "smtp.example.com", "from_address": SENDER}
    assert EmailConfig.model_validate(base).effective_port == 587
    assert EmailConfig.model_validate({**base, "security": "tls"}).effective_port == 465
    assert EmailConfig.model_validate(base).id_domain == "example.com"
    with pytest.raises(ValidationError, match="go together"):
        EmailConfig.model_validate({**base, "username": "u"})
    with pytest.raises(ValidationError, match="clear"):
        EmailConfig.model_validate({**base, "security": "none", "username": "u", "password": "p"})
    with pytest.raises(ValidationError, match="not an email address"):
        EmailConfig.model_validate({**base, "from_address": "pmhub"})
    with pytest.raises(ValidationError, match="security"):
        EmailConfig.model_validate({**base, "security": "ssl"})
    shown = repr(EmailConfig.model_validate({**base, "username": "u", "password": "hunter2"}))
    assert "hunter2" not in shown
