"""The schema, as SQLAlchemy Core metadata.

These objects are used to build queries and to check the migration; the tables
themselves are created only by the Alembic migration (`hub/store/migrations`),
so a database's schema always has a revision to match.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import JSON, TypeDecorator

# Constraint names are explicit so migrations can refer to them on both databases.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    PostgreSQL stores `timestamptz`. SQLite has no time type: values are stored as
    ISO text in UTC (so text order is time order) and come back naive, so they
    are re-tagged as UTC on the way out. Naive values are refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store only takes aware UTC times")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact); JSON text elsewhere.
JSONType: Any = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-assigns ids to INTEGER PRIMARY KEY columns; PostgreSQL gets 64 bits.
BigId: Any = BigInteger().with_variant(Integer(), "sqlite")

JOB_STATES = ("pending", "running", "done", "dead")
EFFECT_STATES = ("pending", "done", "failed")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


inbox = Table(
    "inbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False),
    Column("delivery_id", String(255), nullable=False),
    Column("event_type", String(255), nullable=True),
    Column("headers", JSONType, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("processed_at", UTCDateTime, nullable=True),
    # A vendor's redelivery of the same delivery id is a no-op.
    UniqueConstraint("source", "delivery_id"),
    # Retention finds the processed deliveries older than its horizon.
    Index("ix_inbox_processed_at", "processed_at"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("payload", JSONType, nullable=False),
    Column("dedupe_key", String(512), nullable=True),
    Column("state", String(16), nullable=False),
    Column("run_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=True),
    Column("lease_owner", String(255), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    # Retry by time (issue 12): the horizon runs from the first counted failure, and
    # takeovers (runs that never reported back) are bounded on their own.
    Column("first_failed_at", UTCDateTime, nullable=True),
    Column("takeovers", Integer, nullable=False, default=0, server_default=text("0")),
    CheckConstraint(_one_of("state", JOB_STATES), name="state"),
    # Leasing scans due pending jobs and expired running ones, oldest first.
    Index("ix_jobs_state_run_at", "state", "run_at"),
    # Retention finds the finished (done, dead) jobs older than its horizon.
    Index("ix_jobs_finished_at", "finished_at"),
)
# A connector whose credentials were refused (AuthFailed): its jobs wait, on every
# replica, until `probe_at` (one of them then tries again) or a person resumes it.
connector_pauses = Table(
    "connector_pauses",
    metadata,
    Column("connector", String(64), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("paused_at", UTCDateTime, nullable=False),
    Column("probe_at", UTCDateTime, nullable=False),
)

# At most one pending job per dedupe key; running/done/dead rows do not count, so
# new work can be queued while an earlier run of the same key is in progress.
jobs_pending_dedupe = Index(
    "uq_jobs_pending_dedupe_key",
    jobs.c.dedupe_key,
    unique=True,
    postgresql_where=jobs.c.state == "pending",
    sqlite_where=jobs.c.state == "pending",
)

effects = Table(
    "effects",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", String(512), nullable=False, unique=True),
    Column("kind", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("vendor_ref", Text, nullable=True),
    Column("intent_hash", String(128), nullable=False),
    Column("detail", JSONType, nullable=False),
    Column("error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint(_one_of("state", EFFECT_STATES), name="state"),
    # Retention finds the done effects not touched since its horizon.
    Index("ix_effects_state_updated_at", "state", "updated_at"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(255), primary_key=True),  # "<source>:<source_id>"
    Column("source", String(64), nullable=False),
    Column("source_id", String(255), nullable=False),
    Column("data", JSONType, nullable=False),
    Column("vendor_updated_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("source", "source_id"),
)

postmortems = Table(
    "postmortems",
    metadata,
    Column("id", String(255), primary_key=True),
    Column(
        "incident_id",
        String(255),
        ForeignKey("incidents.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("status", String(32), nullable=False),
    Column("data", JSONType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("subject", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("reason", Text, nullable=False),
    Column("rule", String(255), nullable=True),
    Column("detail", JSONType, nullable=False),
    Index("ix_audit_subject_at", "subject", "at"),
    # Retention deletes the oldest entries first.
    Index("ix_audit_at", "at"),
)

# Pacing shared by replicas (PostgreSQL): per key (a Slack channel, a Statuspage API
# key's digest), the time its next vendor call may start (`hub.store.pacing`).
pacing_slots = Table(
    "pacing_slots",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("next_at", UTCDateTime, nullable=False),
)
