"""Severities a source can send that the policies do not map: warnings for `pmhub check`.

An incident whose severity maps to nothing is "unknown", and only a rule that matches
"unknown" (or no severity at all) takes it: often a catch-all with `postmortem: none`,
so the incident silently needs no post-mortem. The check cannot know every name an
organisation configured in its vendor, but it knows the names each vendor ships with
and whether a source can send no severity at all, and says what would happen.

* PagerDuty: priorities P1-P5 (the account default), and urgency `high`/`low`, which
  every PagerDuty incident has (so it always has a severity when urgency is mapped).
* incident.io: severities Critical, Major, Minor (the default set), and none at all
  (an incident in triage, or declined, may have no severity): `severities.default`.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.model.incident import Incident, IncidentStatus, Severity, Source
from hub.policy.errors import Problem
from hub.policy.policyset import PolicySet

WARNING = "warning: "
PAGERDUTY_PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
PAGERDUTY_URGENCIES = ("high", "low")
INCIDENTIO_SEVERITIES = ("Critical", "Major", "Minor")


def severity_warnings(policies: PolicySet, sources: Iterable[Source]) -> list[Problem]:
    """One warning per source and kind of gap, pointing at the `severities` section."""
    if not policies.policies:
        return []
    mapping = policies.severity_map()
    where = _where(policies)
    falls_to, required = _rule_for_unknown(policies)
    if required:
        return []  # an unknown severity still gets its post-mortem: nothing is missed
    warnings: list[Problem] = []
    for source in dict.fromkeys(sources):
        if source is Source.PAGERDUTY:
            unmapped = [p for p in PAGERDUTY_PRIORITIES if _unknown(mapping.pagerduty(p, None))]
            unmapped += [
                f"urgency {u}" for u in PAGERDUTY_URGENCIES if _unknown(mapping.pagerduty(None, u))
            ]
            gap = None  # every PagerDuty incident has an urgency
        else:
            unmapped = [s for s in INCIDENTIO_SEVERITIES if _unknown(mapping.incident_io(s))]
            gap = None if mapping.default else "an incident.io incident without a severity"
        name = "PagerDuty" if source is Source.PAGERDUTY else "incident.io"
        if unmapped:
            message = (
                f"{name} sends {', '.join(unmapped)} (its default names), which no "
                f"`severities.{source.value}` entry maps: such an incident is 'unknown' and "
                f"{falls_to}"
            )
            warnings.append(Problem(*where, WARNING + message))
        if gap:
            message = f"{gap} is 'unknown' and {falls_to}; set `severities.default`"
            warnings.append(Problem(*where, WARNING + message))
    return warnings


def _unknown(found: tuple[Severity, str | None]) -> bool:
    return found[0] is Severity.UNKNOWN


def _rule_for_unknown(policies: PolicySet) -> tuple[str, bool]:
    """What happens to a resolved incident of unknown severity (no other facts), and
    whether that still requires a post-mortem."""
    sample = Incident(
        id="check:unknown",
        source=Source.INCIDENTIO,
        source_id="unknown",
        status=IncidentStatus.RESOLVED,
    )
    found = policies.match(sample)
    if found is None:
        return "no rule takes it (no post-mortem)", False
    rule = found[1]
    return f"rule {rule.name!r} takes it (postmortem: {rule.postmortem})", (
        rule.postmortem == "required"
    )


def _where(policies: PolicySet) -> tuple[str, int, int]:
    """The first file's `severities` section (or its top, when it has none)."""
    for policy in policies.policies:
        if (found := policy.positions.get(("severities",))) is not None:
            return policy.path, *found
    return policies.policies[0].path, 1, 1
