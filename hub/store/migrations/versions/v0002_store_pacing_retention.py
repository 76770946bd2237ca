"""Shared pacing slots, and the indexes retention deletes by (issue 12).

Revision ID: 0002_store
Revises: 0001
Create Date: 2026-12-07

Additive only (a new table, new indexes): code of the previous release runs
unchanged against this schema, so replicas may be upgraded one at a time (see
docs/operations.md, "Upgrades").
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002_store"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_INDEXES: list[tuple[str, str, list[str]]] = [
    ("ix_inbox_processed_at", "inbox", ["processed_at"]),
    ("ix_jobs_finished_at", "jobs", ["finished_at"]),
    ("ix_effects_state_updated_at", "effects", ["state", "updated_at"]),
    ("ix_audit_at", "audit", ["at"]),
]


def _ts(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "pacing_slots",
        sa.Column("key", sa.String(512), nullable=False),
        _ts("next_at"),
        sa.PrimaryKeyConstraint("key", name="pk_pacing_slots"),
    )
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table("pacing_slots")
