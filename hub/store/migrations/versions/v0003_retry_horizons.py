"""Retry by time: when a job first failed, how often it was taken over; connector pauses.

Revision ID: 0003_retry
Revises: 0002_store
Create Date: 2026-12-07

`jobs.first_failed_at` starts a job's retry horizon (issue 12, defect 2): a job dies
when it has kept failing for longer than its kind's horizon, not after a count of
attempts. `jobs.takeovers` counts runs that never reported back (a crashed or hung
worker), which do not start the horizon but are bounded on their own, so a job that
kills every worker that runs it still ends. `connector_pauses` holds one row per
connector whose credentials were refused (AuthFailed): every replica defers that
connector's jobs until a probe succeeds or a person resumes it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_retry"
down_revision: str | None = "0002_store"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("takeovers", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    op.create_table(
        "connector_pauses",
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("probe_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connector", name="pk_connector_pauses"),
    )


def downgrade() -> None:
    op.drop_table("connector_pauses")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("takeovers")
        batch.drop_column("first_failed_at")
