"""The daemon's own sections: server, store, admin, worker, log."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    field_serializer,
    model_validator,
)

from hub.config.types import FieldProblem, FrozenModel, mask_url_password

DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/pmhub.db"
MIN_ADMIN_TOKEN_LENGTH = 16
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,30}")
_SYNC_DIALECTS = {"sqlite", "postgresql", "postgres"}


class ServerSettings(FrozenModel):
    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(default=8080, ge=0, le=65535, description="TCP port; 0 picks a free one.")
    max_body_bytes: PositiveInt = Field(
        default=1_048_576, description="Largest webhook body accepted, in bytes (413 above)."
    )
    admin_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="A second listener for /api/v1, /metrics, /readyz and /healthz; when set, "
        "the main port serves only the webhooks and /healthz (the admin routes answer 404 "
        "there), so it can face the internet alone. 0 picks a free port.",
    )
    admin_host: str | None = Field(
        default=None, description="Address the admin listener binds to; `host` when unset."
    )
    # The front door faces the internet (issue 10 §3): a slow client may hold a
    # connection only so long, and only so many connections are held at once.
    # Vendors send a whole delivery in milliseconds and give up themselves after a few
    # seconds (Slack 3 s): a client slower than these bounds is not a vendor.
    header_timeout_seconds: PositiveFloat = Field(
        default=5.0,
        description="A connection whose first request's line and headers have not all "
        "arrived this long after it opened is closed.",
    )
    keepalive_timeout_seconds: PositiveFloat = Field(
        default=75.0,
        description="A kept-alive connection idle this long after an answer (its next "
        "request's headers not all in) is closed. Keep it above the idle timeout of a proxy "
        "in front, which would otherwise reuse a connection pmhub is closing (a 502).",
    )
    body_timeout_seconds: PositiveFloat = Field(
        default=10.0,
        description="A request body not fully received this long after its handler started "
        "reading it is answered 408.",
    )
    max_connections: PositiveInt = Field(
        default=1024,
        description="Open connections, both listeners together; one more is answered 503 "
        "and closed at once.",
    )

    @model_validator(mode="after")
    def _listeners_apart(self) -> ServerSettings:
        if self.admin_port is not None and self.admin_port != 0 and self.admin_port == self.port:
            raise FieldProblem("admin_port", f"must differ from port ({self.port})")
        if self.admin_host is not None and self.admin_port is None:
            raise FieldProblem("admin_host", "needs admin_port (there is no admin listener)")
        return self


def _check_database_url(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    allowed = ", ".join(DATABASE_SCHEMES)
    if not sep:
        raise ValueError(f"not a database URL (allowed schemes: {allowed})")
    if scheme not in DATABASE_SCHEMES:
        # Only a scheme-shaped scheme is echoed: the rest may hold a password.
        shown = repr(scheme) if _SCHEME.fullmatch(scheme) else "of the URL"
        hint = " (use the async driver)" if scheme.split("+")[0] in _SYNC_DIALECTS else ""
        raise ValueError(f"scheme {shown} is not supported{hint} (allowed: {allowed})")
    return url


DatabaseUrl = Annotated[str, AfterValidator(_check_database_url)]


class StoreSettings(FrozenModel):
    url: DatabaseUrl = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user:pw@host/db.",
    )

    # The URL stays a plain str for create_async_engine(), but a PostgreSQL
    # password inside it must not reach a repr, a dump or a log line.
    @field_serializer("url")
    def _serialize_url(self, url: str) -> str:
        return mask_url_password(url)

    def __repr_args__(self) -> Any:
        yield "url", mask_url_password(self.url)


def _empty_means_absent(value: Any) -> Any:
    """An optional secret written as `${NAME:-}` is absent, not an empty secret, when NAME
    is unset or empty: a container can then leave it out by leaving the variable out."""
    return None if value == "" else value


# A short bearer token is guessable; the floor is low enough for a dev default.
AdminToken = Annotated[SecretStr, Field(min_length=MIN_ADMIN_TOKEN_LENGTH)]


class AdminSettings(FrozenModel):
    # Empty means absent, and absent fails closed: the admin API answers 403.
    token: Annotated[AdminToken | None, BeforeValidator(_empty_means_absent)] = Field(
        default=None,
        description="Bearer token for /api/v1. When absent (or empty, as `${PMHUB_ADMIN_TOKEN:-}` "
        "with the variable unset) the admin API is disabled.",
    )


class WorkerSettings(FrozenModel):
    concurrency: PositiveInt = Field(default=4, description="Jobs run at the same time.")
    max_attempts: PositiveInt | None = Field(
        default=None,
        description="An optional cap on attempts; unset, a job is retried for its kind's "
        "retry horizon (retry_horizon_hours) whatever the count.",
    )
    retry_horizon_hours: dict[str, PositiveFloat] = Field(
        default_factory=dict,
        description="How long a failing job is retried, by kind (ingest, reconcile, effect, "
        "digest), overriding the defaults: ingest 48, reconcile 48, effect 24, digest 12. "
        "Rate limits, paused connectors and takeovers do not start the clock.",
    )
    auth_probe_seconds: PositiveFloat = Field(
        default=900.0,
        description="A connector paused by refused credentials is tried again this often.",
    )
    alert_channel: str | None = Field(
        default=None,
        description="A Slack channel id (C...) where dead jobs and paused connectors are "
        "announced, once each, besides the log; needs connectors.slack.",
    )
    backoff_base_seconds: PositiveFloat = Field(default=2.0, description="First retry delay.")
    backoff_max_seconds: PositiveFloat = Field(default=600.0, description="Retry delay ceiling.")
    lease_seconds: PositiveInt = Field(
        default=60,
        description="How long a taken job stays leased before another worker may take it.",
    )
    poll_interval_seconds: PositiveFloat = Field(default=5.0, description="Idle poll period.")
    linger_seconds: float = Field(
        default=0.1,
        ge=0,
        le=5,
        description="After taking every webhook delivery there was, the worker waits this "
        "long before taking more, so deliveries that trickle in are ingested as one batch "
        "(0: never wait). Other jobs (reconcile, effects) are never held back by it.",
    )
    shutdown_grace_seconds: PositiveFloat = Field(
        default=25.0, description="How long running jobs may finish after SIGTERM."
    )

    @model_validator(mode="after")
    def _base_not_above_max(self) -> WorkerSettings:
        if self.backoff_base_seconds > self.backoff_max_seconds:
            raise FieldProblem(
                "backoff_base_seconds",
                f"must not exceed backoff_max_seconds ({self.backoff_max_seconds:g})",
            )
        # Only when set: a file with a short poll and no linger was valid before it existed.
        linger_set = "linger_seconds" in self.model_fields_set
        if linger_set and self.linger_seconds > self.poll_interval_seconds:
            raise FieldProblem(
                "linger_seconds",
                f"must not exceed poll_interval_seconds ({self.poll_interval_seconds:g})",
            )
        return self


class LogSettings(FrozenModel):
    level: Literal["debug", "info", "warning", "error"] = Field(default="info")
    format: Literal["auto", "json", "console"] = Field(
        default="auto", description="auto: console on a terminal, JSON otherwise."
    )
