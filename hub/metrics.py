"""Prometheus metrics, in one registry owned by the process.

A dedicated `CollectorRegistry` (not the global default) keeps test runs that build
several apps in one process from colliding, and keeps `/metrics` to what pmhub owns.
Gauges that describe the queue are filled at scrape time from the database, so they
are true for every replica, not just the one being scraped.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

DELIVERIES = Counter(
    "pmhub_webhook_deliveries",
    "Webhook deliveries by source and outcome "
    "(accepted, duplicate, unauthorized, malformed, too_large, unsupported_media_type, "
    "unknown_source, error).",
    ["source", "outcome"],
    registry=REGISTRY,
)
REQUEST_LATENCY = Histogram(
    "pmhub_http_request_duration_seconds",
    "Time to answer an HTTP request, by route and status class.",
    ["route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
JOB_RUNS = Counter(
    "pmhub_job_runs",
    "Job runs by kind and outcome (done, retry, dead).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "pmhub_job_duration_seconds",
    "Time one job run took, by kind.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=REGISTRY,
)
JOBS = Gauge(
    "pmhub_jobs",
    "Jobs in the store by kind and state, read at scrape time.",
    ["kind", "state"],
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "pmhub_queue_depth",
    "Pending jobs that are due now, read at scrape time.",
    registry=REGISTRY,
)
OLDEST_PENDING_AGE = Gauge(
    "pmhub_oldest_pending_job_age_seconds",
    "Age of the oldest due pending job (0 when none), read at scrape time.",
    registry=REGISTRY,
)
DEAD_JOBS = Gauge(
    "pmhub_dead_jobs",
    "Dead-lettered jobs waiting for a person, read at scrape time.",
    registry=REGISTRY,
)
