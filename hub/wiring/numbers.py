"""Wiring for the process in numbers (issue 15): failures counted by connector, the digest.

Kept beside `hub.app` (the wiring layer may import everything) so the application's
own module stays readable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.email import EmailConnector
from hub.config import Settings
from hub.engine.digest import DigestRunner, DigestSchedule
from hub.engine.effects import EffectOutcome, EffectRequest, Performer
from hub.errors import ConnectorError
from hub.jobs.effect_stats import UNKNOWN_CONNECTOR
from hub.jobs.queue import JobQueue
from hub.metrics import Metrics
from hub.model.intent import IntentKind
from hub.policy import PolicySet
from hub.ports import Notifier

# The publish performers' kinds, by the connector that carries each out.
PUBLISHERS = {
    IntentKind.PUBLISH_EXTERNAL_MESSAGE: "statuspage",
    IntentKind.PAGERDUTY_NOTE: "pagerduty",
}


def counted(
    performers: Mapping[IntentKind, Performer],
    connectors: Mapping[IntentKind, str],
    metrics: Metrics,
) -> dict[IntentKind, Performer]:
    """Each performer, counting its failed vendor calls by connector and error."""
    return {
        kind: _counted(performer, connectors.get(kind, UNKNOWN_CONNECTOR), metrics)
        for kind, performer in performers.items()
    }


def _counted(performer: Performer, connector: str, metrics: Metrics) -> Performer:
    async def perform(request: EffectRequest) -> EffectOutcome:
        try:
            return await performer(request)
        except ConnectorError as error:
            metrics.count_effect_failure(connector, type(error).__name__)
            raise

    return perform


def digest_runner(
    settings: Settings,
    engine: AsyncEngine,
    queue: JobQueue,
    policies: PolicySet,
    *,
    notifier: Notifier | None,
    clock: Callable[[], datetime],
) -> DigestRunner | None:
    """The weekly digest (`digest:` in pmhub.yaml) of every team `teams:` defines."""
    digest = settings.digest
    if digest is None or not policies.teams:
        return None
    email = settings.connectors.email
    mailer = EmailConnector.from_config(email) if email is not None else None
    schedule = DigestSchedule(digest.weekday, digest.at, ZoneInfo(digest.timezone))
    return DigestRunner(
        engine, queue, policies, schedule, notifier=notifier, mailer=mailer, clock=clock
    )
