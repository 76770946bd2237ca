"""Loaded policies, ready to evaluate: specs with their calendars and compiled templates."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from jinja2 import Template as JinjaTemplate

from hub.model.incident import Incident, Severity
from hub.model.routing import Route
from hub.model.severity_map import SeverityMap
from hub.policy.calendar import WorkCalendar
from hub.policy.conditions import matches
from hub.policy.schema import PolicySpec, RuleSpec
from hub.policy.teams import TeamSpec, resolve_route, team_of


@dataclass(frozen=True)
class Policy:
    """One policy file. Rules use their own file's calendar, directory and messages."""

    path: str
    spec: PolicySpec
    calendar: WorkCalendar
    messages: dict[str, JinjaTemplate]
    labels: dict[str, tuple[JinjaTemplate, ...]] = field(default_factory=dict)
    # Where rule names and severity entries sit, for problems found across files.
    positions: dict[tuple[str, ...], tuple[int, int]] = field(default_factory=dict)
    # The post-mortem document's templates, per rule name (issue 14).
    documents: dict[str, JinjaTemplate] = field(default_factory=dict)
    document_titles: dict[str, JinjaTemplate] = field(default_factory=dict)

    def severity_map(self) -> SeverityMap:
        """The adapters' mapping: this file's entries over the built-in defaults."""
        return merge_severity_maps([self])


@dataclass(frozen=True)
class PolicySet:
    """Every configured policy file, in the order listed: the first matching rule decides.

    `teams` is `pmhub.yaml`'s mapping of incidents to teams (issue 15), in its order.
    """

    policies: tuple[Policy, ...]
    teams: Mapping[str, TeamSpec] = field(default_factory=dict)

    def rules(self) -> Iterator[tuple[Policy, RuleSpec]]:
        for policy in self.policies:
            for rule in policy.spec.rules:
                yield policy, rule

    def team_of(self, incident: Incident) -> str | None:
        """The incident's team under `pmhub.yaml`'s `teams:` (None: no team claims it)."""
        return team_of(incident, self.teams)

    def match(self, incident: Incident) -> tuple[Policy, RuleSpec] | None:
        team = self.team_of(incident)
        names = (team,) if team else ()
        return next(((p, r) for p, r in self.rules() if matches(r.when, incident, names)), None)

    def route_of(self, incident: Incident) -> Route | None:
        """Where the incident's effects go (its team's targets); None when no rule matches."""
        found = self.match(incident)
        if found is None:
            return None
        policy, rule = found
        team = self.team_of(incident)
        return resolve_route(team, rule=rule.targets, policy=policy.spec.targets, teams=self.teams)

    def rule(self, name: str) -> tuple[Policy, RuleSpec]:
        for policy, rule in self.rules():
            if rule.name == name:
                return policy, rule
        raise KeyError(name)

    def calendar_for(self, rule_name: str) -> WorkCalendar:
        """The calendar a rule's deadlines and slots use (for the calendar connector's caller)."""
        return self.rule(rule_name)[0].calendar

    def severity_map(self) -> SeverityMap:
        return merge_severity_maps(self.policies)


SEVERITY_TABLES = {
    "pagerduty_priority": ("severities", "pagerduty", "priority"),
    "pagerduty_urgency": ("severities", "pagerduty", "urgency"),
    "incidentio": ("severities", "incidentio"),
}


def severity_tables(policy: Policy) -> dict[str, dict[str, Severity]]:
    section = policy.spec.severities
    return {
        "pagerduty_priority": section.pagerduty.priority,
        "pagerduty_urgency": section.pagerduty.urgency,
        "incidentio": section.incidentio,
    }


def merge_severity_maps(policies: tuple[Policy, ...] | list[Policy]) -> SeverityMap:
    """The tables the files give (merged across files), the built-in default for the others.

    A table a policy writes replaces the default table rather than being laid
    over it: what the file says is the whole mapping, so a priority it leaves
    out stays unmapped (SEV unknown) instead of inheriting a default.
    """
    tables: dict[str, object] = {}
    for policy in policies:
        for name, table in severity_tables(policy).items():
            if table:
                merged = tables.setdefault(name, {})
                assert isinstance(merged, dict)  # noqa: S101 - only tables are set above
                merged.update(table)
    # The first file that names a default gives it (files may not disagree: checks.py).
    default = next((p.spec.severities.default for p in policies if p.spec.severities.default), None)
    if default is not None:
        tables["default"] = default
    return SeverityMap.model_validate(tables)
