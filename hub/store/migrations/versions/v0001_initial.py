"""Initial schema: inbox, jobs, effects, incidents, postmortems, audit.

Revision ID: 0001
Revises:
Create Date: 2024-06-01

Types are spelled out here rather than imported from hub.store.tables so this
revision stays what it was when released, whatever the tables module becomes.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_JSON: Any = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_ID: Any = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _create_inbox() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("delivery_id", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(255), nullable=True),
        sa.Column("headers", _JSON, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        _ts("received_at"),
        _ts("processed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbox"),
        sa.UniqueConstraint("source", "delivery_id", name="uq_inbox_source_delivery_id"),
    )


def _create_jobs() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("dedupe_key", sa.String(512), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        _ts("run_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=True),
        sa.Column("lease_owner", sa.String(255), nullable=True),
        _ts("lease_until", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
        sa.CheckConstraint("state IN ('pending', 'running', 'done', 'dead')", name="ck_jobs_state"),
    )
    op.create_index("ix_jobs_state_run_at", "jobs", ["state", "run_at"])
    pending = sa.text("state = 'pending'")
    op.create_index(
        "uq_jobs_pending_dedupe_key",
        "jobs",
        ["dedupe_key"],
        unique=True,
        postgresql_where=pending,
        sqlite_where=pending,
    )


def _create_effects() -> None:
    op.create_table(
        "effects",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("vendor_ref", sa.Text(), nullable=True),
        sa.Column("intent_hash", sa.String(128), nullable=False),
        sa.Column("detail", _JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_effects"),
        sa.UniqueConstraint("key", name="uq_effects_key"),
        sa.CheckConstraint("state IN ('pending', 'done', 'failed')", name="ck_effects_state"),
    )


def _create_records() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("source_id", sa.String(255), nullable=False),
        sa.Column("data", _JSON, nullable=False),
        _ts("vendor_updated_at", nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
        sa.UniqueConstraint("source", "source_id", name="uq_incidents_source_source_id"),
    )
    op.create_table(
        "postmortems",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("incident_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("data", _JSON, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_postmortems"),
        sa.UniqueConstraint("incident_id", name="uq_postmortems_incident_id"),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name="fk_postmortems_incident_id_incidents",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "audit",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        _ts("at"),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rule", sa.String(255), nullable=True),
        sa.Column("detail", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
    )
    op.create_index("ix_audit_subject_at", "audit", ["subject", "at"])


def upgrade() -> None:
    _create_inbox()
    _create_jobs()
    _create_effects()
    _create_records()


def downgrade() -> None:
    op.drop_table("audit")
    op.drop_table("postmortems")
    op.drop_table("incidents")
    op.drop_table("effects")
    op.drop_index("uq_jobs_pending_dedupe_key", table_name="jobs")
    op.drop_index("ix_jobs_state_run_at", table_name="jobs")
    op.drop_table("jobs")
    op.drop_table("inbox")
