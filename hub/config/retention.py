"""`retention:` in pmhub.yaml (issue 12): how long pmhub keeps what it no longer needs.

    retention: {inbox_days: 30, jobs_days: 30, dead_jobs_days: 90,
                effect_payload_days: 90, audit_days: 400}

Why these defaults: a delivery or a finished job older than a month is no longer
looked at to debug anything (a problem is noticed within days, and the incident's
state is in `incidents`, not in its webhooks); dead letters and effect payloads are
what you read when a vendor call went wrong, so a quarter; the audit answers "who
decided this, and why" in the next annual review, so more than a year. Pending work,
unprocessed deliveries and the effects of open post-mortems are never removed.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, PositiveFloat, PositiveInt

from hub.config.types import FrozenModel
from hub.store.retention import Horizons


class RetentionSettings(FrozenModel):
    enabled: bool = Field(default=True, description="Run the retention timer job.")
    inbox_days: PositiveFloat = Field(
        default=30, description="Processed webhook deliveries are kept this long."
    )
    jobs_days: PositiveFloat = Field(default=30, description="Done jobs are kept this long.")
    dead_jobs_days: PositiveFloat = Field(
        default=90, description="Dead-lettered jobs are kept this long after they died."
    )
    effect_payload_days: PositiveFloat = Field(
        default=90,
        description="A done effect's payload is emptied this long after it was done "
        "(never while its post-mortem is open); the ledger row itself stays.",
    )
    audit_days: PositiveFloat = Field(default=400, description="Audit entries are kept this long.")
    every_minutes: PositiveFloat = Field(default=60, description="How often retention runs.")
    batch_size: PositiveInt = Field(
        default=1000, description="Rows removed per transaction (keeps each one short)."
    )

    def horizons(self) -> Horizons:
        return Horizons(
            inbox=timedelta(days=self.inbox_days),
            jobs=timedelta(days=self.jobs_days),
            dead_jobs=timedelta(days=self.dead_jobs_days),
            effect_payloads=timedelta(days=self.effect_payload_days),
            audit=timedelta(days=self.audit_days),
        )
