"""Per-source adapters: a stored delivery's bytes in, canonical facts out. Pure; no I/O.

`parse_delivery` is what the ingest job calls for an inbox row. It never raises:
a body it cannot use becomes an `Ignored` result naming the event type, so one
odd delivery is logged, not retried forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from hub.intake.adapters import incidentio, jira, pagerduty, slack
from hub.intake.adapters.base import AdapterResult, Ignored, RefetchRequest, load_json
from hub.intake.adapters.incidentio import IncidentIoOptions
from hub.intake.adapters.pagerduty import PagerDutyOptions
from hub.model.severity_map import DEFAULT_SEVERITY_MAP, SeverityMap

SOURCES = ("pagerduty", "incidentio", "slack/commands", "slack/interactions", "jira")


@dataclass(frozen=True)
class AdapterOptions:
    severity_map: SeverityMap = DEFAULT_SEVERITY_MAP
    pagerduty: PagerDutyOptions = field(default_factory=PagerDutyOptions)
    incidentio: IncidentIoOptions = field(default_factory=IncidentIoOptions)


def parse_delivery(
    source: str, body: bytes, options: AdapterOptions | None = None
) -> tuple[AdapterResult, ...]:
    options = options or AdapterOptions()
    try:
        return _parse(source, body, options)
    except ValidationError as error:
        # A value our canonical model refuses (it is stricter than the vendor):
        # report it rather than fail the job on every retry.
        return (
            Ignored(None, f"{source} payload rejected by the model: {error.error_count()} errors"),
        )


def _parse(source: str, body: bytes, options: AdapterOptions) -> tuple[AdapterResult, ...]:
    if source.startswith("slack/"):
        return slack.parse_delivery(source, body)
    document = load_json(body)
    if not isinstance(document, dict):
        return (Ignored(None, f"{source} body is not a JSON object"),)
    if source == "pagerduty":
        return pagerduty.parse_webhook(document, options.severity_map, options.pagerduty)
    if source == "incidentio":
        return incidentio.parse_webhook(document, options.severity_map, options.incidentio)
    if source == "jira":
        return jira.parse_webhook(document)
    return (Ignored(None, f"unknown source {source!r}"),)


__all__ = [
    "SOURCES",
    "AdapterOptions",
    "AdapterResult",
    "Ignored",
    "IncidentIoOptions",
    "PagerDutyOptions",
    "RefetchRequest",
    "parse_delivery",
]
