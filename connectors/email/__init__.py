"""Email over SMTP: the post-mortem's results to the stakeholders the policy lists.

config.py settings (host, port, security starttls/tls/none, from, AUTH, timeout) ·
client.py aiosmtplib, one connection per message, replies mapped to hub.errors ·
connector.py `hub.ports.Mailer` (Message-ID derived from the effect key) · fake/ an
in-process SMTP server (aiosmtpd) with STARTTLS, AUTH and injectable refusals.
"""

from connectors.email.config import EmailConfig
from connectors.email.connector import EmailConnector, build_message, message_id_for

__all__ = ["EmailConfig", "EmailConnector", "build_message", "message_id_for"]
