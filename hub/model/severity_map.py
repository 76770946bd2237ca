"""How vendor severities become pmhub severities.

Vendors name severity differently (PagerDuty priorities "P1".."P5" or just an
urgency; incident.io severities with names an organisation chose), so adapters
never hard-code a mapping: they receive a `SeverityMap`. The policy engine builds
one from a policy's `severities` section; `DEFAULT_SEVERITY_MAP` is used otherwise.

Urgency is only a fallback when an incident has no priority. PagerDuty urgency
says how loudly to page, not how bad the impact is (every alert on a high-urgency
service is "high"), so the default maps high to SEV-3, not SEV-2: mapping it to
SEV-2 would demand a post-mortem for every page. A policy that wants otherwise
sets `pagerduty_urgency`.
"""

from __future__ import annotations

import re

from pydantic import Field

from hub.model.incident import Frozen, Severity

# Names like "SEV1", "Sev 2", "sev-3" are common enough to understand without
# configuration, whatever the vendor.
_SEV_NAME = re.compile(r"^\s*sev(?:erity)?[\s_-]*([1-4])\s*$", re.IGNORECASE)


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


class SeverityMap(Frozen):
    pagerduty_priority: dict[str, Severity] = Field(
        default_factory=lambda: {
            "P1": Severity.SEV1,
            "P2": Severity.SEV2,
            "P3": Severity.SEV3,
            "P4": Severity.SEV4,
            "P5": Severity.SEV4,
        }
    )
    pagerduty_urgency: dict[str, Severity] = Field(
        default_factory=lambda: {"high": Severity.SEV3, "low": Severity.SEV4}
    )
    incidentio: dict[str, Severity] = Field(
        default_factory=lambda: {
            "Critical": Severity.SEV1,
            "Major": Severity.SEV2,
            "Minor": Severity.SEV3,
        }
    )

    default: Severity | None = Field(
        default=None,
        description="for an incident its source gives no severity at all (policy "
        "`severities.default`); a value the tables do not name stays unknown",
    )

    def pagerduty(self, priority: str | None, urgency: str | None) -> tuple[Severity, str | None]:
        """Severity and the vendor value it came from: priority first, then urgency."""
        if priority:
            found = _lookup(self.pagerduty_priority, priority)
            if found is not None:
                return found, priority
        if urgency:
            found = _lookup(self.pagerduty_urgency, urgency)
            if found is not None:
                return found, f"urgency:{urgency}"
        if priority:
            return Severity.UNKNOWN, priority
        if urgency:
            return Severity.UNKNOWN, f"urgency:{urgency}"
        return self.default or Severity.UNKNOWN, None

    def incident_io(self, name: str | None) -> tuple[Severity, str | None]:
        if not name:
            return self.default or Severity.UNKNOWN, None
        found = _lookup(self.incidentio, name)
        return (found if found is not None else Severity.UNKNOWN), name


def _lookup(table: dict[str, Severity], name: str) -> Severity | None:
    wanted = _fold(name)
    for key, severity in table.items():
        if _fold(key) == wanted:
            return severity
    match = _SEV_NAME.match(name)
    if match:
        return Severity(f"SEV-{match.group(1)}")
    return None


DEFAULT_SEVERITY_MAP = SeverityMap()
