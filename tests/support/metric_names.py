"""Metric names as PromQL sees them: a counter `x` is queried as `x_total`, a histogram
as `x_bucket`, `x_sum`, `x_count` (the exposition format's sample names)."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry

SAMPLE_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "summary": ("_sum", "_count", "_created"),
    "info": ("_info",),
}
_TYPE = re.compile(r"^# TYPE (\S+) (\S+)$", re.MULTILINE)


def _with_samples(name: str, kind: str) -> set[str]:
    base = name.removesuffix("_total") if kind == "counter" else name
    return {name, base, *(base + suffix for suffix in SAMPLE_SUFFIXES.get(kind, ()))}


def registry_names(registry: CollectorRegistry) -> set[str]:
    """Every name a query may use for what `registry` exports (families without samples too)."""
    names: set[str] = set()
    for family in registry.collect():
        names |= _with_samples(family.name, family.type)
    return names


def exposition_names(text: str) -> set[str]:
    """The same, read from a /metrics answer (its `# TYPE` lines)."""
    names: set[str] = set()
    for name, kind in _TYPE.findall(text):
        names |= _with_samples(name, kind)
    return names
