"""Prometheus metrics, in one registry owned by each application.

`Metrics` is made by `create_app` and lives as long as the application: two
applications in one process (the tests build many) share no counter by accident,
and `/metrics` shows only what pmhub owns. Gauges that describe the queue are
filled at scrape time from the database, so they are true for every replica, not
just the one being scraped. Children (`labels(...)`) are cached here: `labels()`
takes a lock and a lookup, and the webhook path runs for every delivery of a storm.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

from hub import __version__
from hub.jobs.model import QueueStats
from hub.metrics.process import ProcessMetrics
from hub.store.retention import Removed


class Metrics:
    """Every metric pmhub exports, with the registry `/metrics` renders."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.deliveries = Counter(
            "pmhub_webhook_deliveries",
            "Webhook deliveries by source and outcome "
            "(accepted, duplicate, unauthorized, malformed, too_large, unsupported_media_type, "
            "unknown_source, timeout, error).",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.request_latency = Histogram(
            "pmhub_http_request_duration_seconds",
            "Time to answer an HTTP request, by route and status class.",
            ["route", "status"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.job_runs = Counter(
            "pmhub_job_runs",
            "Job runs by kind and outcome (done, retry, dead).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.job_duration = Histogram(
            "pmhub_job_duration_seconds",
            "Time one job run took, by kind.",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
            registry=self.registry,
        )
        self.jobs = Gauge(
            "pmhub_jobs",
            "Jobs in the store by kind and state, read at scrape time.",
            ["kind", "state"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "pmhub_queue_depth",
            "Pending jobs that are due now, read at scrape time.",
            registry=self.registry,
        )
        self.oldest_pending_age = Gauge(
            "pmhub_oldest_pending_job_age_seconds",
            "Age of the oldest due pending job (0 when none), read at scrape time.",
            registry=self.registry,
        )
        self.dead_jobs = Gauge(
            "pmhub_dead_jobs",
            "Dead-lettered jobs waiting for a person, read at scrape time.",
            registry=self.registry,
        )
        self.connector_paused = Gauge(
            "pmhub_connector_paused",
            "1 while a connector is paused because its credentials were refused (AuthFailed): "
            "its jobs wait for a probe or `pmhub jobs resume-connector`. Read at scrape time.",
            ["connector"],
            registry=self.registry,
        )
        # Issue 15: the process in numbers (from the store), vendors' failures by connector,
        # and what the default registry would have had: process, platform, GC, build.
        self.process = ProcessMetrics()
        self.registry.register(self.process)
        self.effect_failures = Counter(
            "pmhub_effect_failures",
            "Failed attempts at an effect, by connector and error (Transient, RateLimited, "
            "AuthFailed, Permanent, ...); each is retried until it succeeds or is dead.",
            ["connector", "error"],
            registry=self.registry,
        )
        self.retention_removed = Counter(
            "pmhub_retention_removed",
            "Rows removed by retention, by table (effect_payloads: payloads emptied).",
            ["table"],
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.build_info = Gauge(
            "pmhub_build_info",
            "pmhub's version and the Python it runs on (always 1).",
            ["version", "python"],
            registry=self.registry,
        )
        self.build_info.labels(__version__, platform.python_version()).set(1)
        self._delivery_children: dict[tuple[str, str], Counter] = {}
        self._latency_children: dict[tuple[str, int], Histogram] = {}

    def count_delivery(self, source: str, outcome: str) -> None:
        child = self._delivery_children.get((source, outcome))
        if child is None:
            child = self.deliveries.labels(source=source, outcome=outcome)
            self._delivery_children[(source, outcome)] = child
        child.inc()

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        """One answered request, by route template and status class (2xx, 4xx, ...)."""
        key = (route, status // 100)
        child = self._latency_children.get(key)
        if child is None:
            child = self.request_latency.labels(route=route, status=f"{key[1]}xx")
            self._latency_children[key] = child
        child.observe(seconds)

    def job_finished(self, kind: str, outcome: str, seconds: float) -> None:
        """One job run (the worker's `RunObserver`); only settled outcomes are counted."""
        if outcome in ("done", "retry", "dead"):
            self.job_runs.labels(kind, outcome).inc()
        self.job_duration.labels(kind).observe(seconds)

    def count_effect_failure(self, connector: str, error: str) -> None:
        self.effect_failures.labels(connector, error).inc()

    def count_retention(self, removed: Removed) -> None:
        for table, count in removed.as_dict().items():
            self.retention_removed.labels(table).inc(count)

    def set_queue_stats(self, stats: QueueStats) -> None:
        self.jobs.clear()
        for (kind, state), count in stats.counts.items():
            self.jobs.labels(kind=kind, state=state).set(count)
        self.queue_depth.set(stats.depth)
        self.oldest_pending_age.set(stats.oldest_pending_age_seconds)
        self.dead_jobs.set(stats.dead)

    def set_connector_pauses(self, paused: Iterable[str]) -> None:
        """The paused connectors now; one that resumed drops out of the gauge."""
        self.connector_paused.clear()
        for connector in paused:
            self.connector_paused.labels(connector=connector).set(1)
