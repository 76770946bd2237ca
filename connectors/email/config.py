"""SMTP settings for the results email (wired from pmhub.yaml by hub/app.py, later)."""

from __future__ import annotations

from email.headerregistry import Address
from email.utils import parseaddr
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.common.paths import CaBundle

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


class EmailConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(min_length=1, description="The SMTP server (your relay or provider).")
    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Default: 587 for starttls, 465 for tls, 25 for none.",
    )
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="starttls: plain connection upgraded with STARTTLS, which the server must "
        "offer (submission, port 587); tls: TLS from the first byte (port 465); none: no "
        "encryption, only for a relay on the same host or network.",
    )
    from_address: str = Field(
        description="The sender, e.g. 'pmhub <pmhub@example.com>' (the envelope sender too)."
    )
    username: str | None = Field(default=None, description="AUTH user; none: no AUTH.")
    password: SecretStr | None = Field(default=None, description="AUTH password (`${ENV}`).")
    timeout_seconds: float = Field(default=30, gt=0, description="Per SMTP command.")
    ca_bundle: CaBundle | None = Field(
        default=None,
        description="Extra CA certificates (PEM) to trust: a private relay, the demo's server.",
    )
    message_id_domain: str | None = Field(
        default=None,
        description="The right-hand side of each Message-ID; default: the sender's domain.",
    )
    local_hostname: str | None = Field(
        default=None, description="The name pmhub gives in EHLO; default: this host's FQDN."
    )

    @field_validator("from_address")
    @classmethod
    def _address(cls, value: str) -> str:
        _, address = parseaddr(value)
        if "@" not in address or address.startswith("@") or address.endswith("@"):
            raise ValueError(f"{value!r} is not an email address")
        return value

    @model_validator(mode="after")
    def _auth_pair(self) -> EmailConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.username is not None and self.security == "none":
            # aiosmtplib would send the password in clear text; no relay needs that.
            raise ValueError(
                "AUTH needs security: starttls or tls (the password would be sent in clear)"
            )
        return self

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    @property
    def sender(self) -> Address:
        name, address = parseaddr(self.from_address)
        user, _, domain = address.rpartition("@")
        return Address(display_name=name, username=user, domain=domain)

    @property
    def id_domain(self) -> str:
        return self.message_id_domain or self.sender.domain
