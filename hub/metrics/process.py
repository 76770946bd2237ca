"""The process in numbers on /metrics (issue 15), computed from the store at scrape time.

Every replica reads the same store, so every replica reports the same numbers; sum or
max them across replicas, never both. The figures describe every post-mortem pmhub
keeps (not a rate): the histograms are the distribution over all of them, so
`histogram_quantile(0.5, sum by (le) (pmhub_postmortem_resolution_to_milestone_seconds_bucket
{milestone="closed"}))` is the median time to close, and `increase()` over a window
counts the post-mortems that reached a step in it.

`ProcessMetrics` holds the last snapshot; `/metrics` refreshes it before rendering
(`refresh`), at most every `MIN_REFRESH_SECONDS` (a few Prometheus servers scraping
each replica do not multiply the work). On a store error the previous snapshot stays,
as the queue gauges do.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.engine.process import Milestone, ProcessRecord, process_records
from hub.jobs.effect_stats import effect_jobs_by_connector
from hub.jobs.model import JobState
from hub.policy import PolicySet

# From an hour to two months: a post-mortem's steps take hours (Accept) to weeks (close).
MIN_REFRESH_SECONDS = 10.0
HOURS = (1, 4, 12, 24, 48, 72, 120, 168, 336, 720, 1440)
BUCKETS = (*(hours * 3600.0 for hours in HOURS), float("inf"))


@dataclass(frozen=True)
class ProcessSnapshot:
    records: Sequence[ProcessRecord] = ()
    dead_effects: Mapping[str, int] = field(default_factory=dict)  # connector -> dead jobs


async def process_snapshot(
    engine: AsyncEngine, policies: PolicySet, now: datetime
) -> ProcessSnapshot:
    """The numbers as the store has them now."""
    records = await process_records(engine, policies, now)
    return ProcessSnapshot(records, await effect_jobs_by_connector(engine, JobState.DEAD))


def _gauge(name: str, doc: str, labels: Sequence[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


class ProcessMetrics(Collector):
    """A collector over the last `ProcessSnapshot` (registered in `hub.metrics.Metrics`)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.snapshot = ProcessSnapshot()
        self._clock = clock
        self._taken_at: float | None = None

    def due(self) -> bool:
        """Whether the snapshot is old enough to read the store again."""
        taken = self._taken_at
        return taken is None or self._clock() - taken >= MIN_REFRESH_SECONDS

    def refresh(self, snapshot: ProcessSnapshot) -> None:
        self.snapshot = snapshot
        self._taken_at = self._clock()

    def describe(self) -> Iterable[Metric]:
        return list(self._families(ProcessSnapshot()))

    def collect(self) -> Iterable[Metric]:
        return list(self._families(self.snapshot))

    def _families(self, snapshot: ProcessSnapshot) -> Iterator[Metric]:
        records = snapshot.records
        yield _counted(
            "pmhub_postmortems",
            "Post-mortems by team, severity and status.",
            ("team", "severity", "status"),
            ((r.team, r.severity.value, r.status.value) for r in records),
        )
        yield _counted(
            "pmhub_postmortems_overdue",
            "Post-mortems still open past their meeting deadline without the meeting held.",
            ("team", "severity"),
            ((r.team, r.severity.value) for r in records if r.overdue),
        )
        yield _histogram(records)
        yield _counted(
            "pmhub_postmortem_meetings",
            "Meetings booked, by whether they end by the deadline (inside_deadline) or not.",
            ("team", "severity", "timing"),
            (
                (r.team, r.severity.value, "inside_deadline" if on_time else "after_deadline")
                for r in records
                if (on_time := r.meeting_on_time) is not None
            ),
        )
        yield _counted(
            "pmhub_postmortem_reviews",
            "Reviews by when they were shared: early (24 h or more before the meeting) or "
            "late (later, or not at all once the meeting started).",
            ("team", "severity", "shared"),
            (
                (r.team, r.severity.value, "early" if early else "late")
                for r in records
                if (early := r.review_shared_early) is not None
            ),
        )
        yield _counted(
            "pmhub_follow_ups",
            "Follow-ups by team, priority and state (open, overdue, done, dropped).",
            ("team", "priority", "state"),
            ((r.team, f.item.priority, f.standing.value) for r in records for f in r.follow_ups),
        )
        dead = _gauge(
            "pmhub_dead_effect_jobs",
            "Dead-lettered effect jobs by the connector that was to carry them out.",
            ("connector",),
        )
        for connector, count in sorted(snapshot.dead_effects.items()):
            dead.add_metric([connector], count)
        yield dead


def _counted(
    name: str, doc: str, labels: Sequence[str], values: Iterable[tuple[str, ...]]
) -> GaugeMetricFamily:
    family = _gauge(name, doc, labels)
    for label_values, count in sorted(Counter(values).items()):
        family.add_metric(list(label_values), count)
    return family


def _histogram(records: Sequence[ProcessRecord]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(
        "pmhub_postmortem_resolution_to_milestone_seconds",
        "Time from the incident's resolution to each step the post-mortem reached: "
        "owner_accepted, meeting_booked, meeting_held, closed.",
        labels=["team", "severity", "milestone"],
    )
    seconds: dict[tuple[str, str, str], list[float]] = {}
    for record in records:
        for milestone in Milestone:
            took = record.since_resolution(milestone)
            if took is not None:
                key = (record.team, record.severity.value, milestone.value)
                seconds.setdefault(key, []).append(took.total_seconds())
    for key, values in sorted(seconds.items()):
        buckets = [(_le(bound), sum(1 for v in values if v <= bound)) for bound in BUCKETS]
        family.add_metric(list(key), buckets, sum_value=sum(values))
    return family


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else f"{bound:g}"
