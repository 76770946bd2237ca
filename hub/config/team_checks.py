"""Targets need connectors: `pmhub check`'s word on `teams:` and on the policies' `targets:`.

A target names a place in a tool (a channel, a project), never credentials, so each
needs its connector section under `connectors:`; and a team a policy routes must be
one `pmhub.yaml` defines, or its routing would silently apply to nobody. Problems
are at the target's line, in pmhub.yaml or in the policy file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.config.problems import ConfigProblem
from hub.policy import PolicySet, Problem
from hub.policy.schema_teams import PolicyTargetsSpec, TargetsSpec
from hub.policy.teams import TeamSpec, named_targets
from hub.yamlpos import YamlDocument

if TYPE_CHECKING:
    from hub.config.root import Settings

# A target kind -> the connector sections that can carry it out (any one will do).
CONNECTORS_FOR: Mapping[str, tuple[str, ...]] = {
    "slack": ("slack",),
    "calendar": ("google_calendar",),
    "jira": ("jira",),
    "statuspage": ("statuspage",),
    "email": ("email",),
    "document": ("google_docs", "github"),
}


def _configured(connectors: object, kind: str) -> bool:
    # getattr: a connector section another part of pmhub adds (email, documents) may not
    # exist in this build's settings at all; then nothing can carry the target out.
    return any(getattr(connectors, name, None) is not None for name in CONNECTORS_FOR[kind])


def _missing(kind: str) -> str:
    sections = " or ".join(f"connectors.{name}" for name in CONNECTORS_FOR[kind])
    return f"the {kind} target needs {sections} to be configured"


def team_target_problems(
    teams: Mapping[str, TeamSpec], connectors: object, doc: YamlDocument, file: str
) -> list[ConfigProblem]:
    """Each team's target whose connector is not configured, at its line in pmhub.yaml."""
    problems: list[ConfigProblem] = []
    for name, team in teams.items():
        for suffix, kind in named_targets(team.targets).items():
            if not _configured(connectors, kind):
                pos = doc.position(("teams", name, "targets", *suffix), key=True)
                problems.append(ConfigProblem(file, pos.line, pos.column, _missing(kind)))
    return problems


def policy_target_problems(policies: PolicySet, connectors: object) -> list[Problem]:
    """What `pmhub check` says about the policies' targets, against pmhub.yaml.

    Every target kind a policy or a rule names needs its connector; every team it
    names must be one of pmhub.yaml's `teams:` (a misspelt team would route nothing).
    """
    problems: list[Problem] = []
    known = sorted(policies.teams)
    for policy in policies.policies:
        blocks: list[tuple[tuple[str, ...], PolicyTargetsSpec | None]]
        blocks = [((), policy.spec.targets)]
        blocks += [(("rule", rule.name), rule.targets) for rule in policy.spec.rules]
        for prefix, targets in blocks:
            if targets is None:
                continue
            for suffix, kind in named_targets(targets).items():
                if not _configured(connectors, kind):
                    at = policy.positions.get((*prefix, "targets", *suffix), (1, 1))
                    problems.append(Problem(policy.path, *at, _missing(kind)))
            for team in targets.teams:
                if team not in policies.teams:
                    at = policy.positions.get((*prefix, "targets", "teams", team), (1, 1))
                    allowed = ", ".join(known) or "none: pmhub.yaml has no `teams:`"
                    message = f"unknown team {team!r} (allowed: {allowed})"
                    problems.append(Problem(policy.path, *at, message))
    return problems


# -- for `pmhub doctor` (issue 15) ---------------------------------------------------
#
# `pmhub doctor` (hub/cli/doctor.py) runs each vendor's `diagnose` on a copy of its
# section with a TargetCheck's `settings` laid over it, and prints the findings with
# `where`: every channel, calendar, project and page a team or policy names is proved
# reachable, not only the defaults.


@dataclass(frozen=True)
class TargetCheck:
    """One place a team or policy routes to, as the connector's settings would name it."""

    connector: str  # the `connectors:` section, e.g. "jira"
    settings: Mapping[str, object]  # its keys this target replaces, e.g. {"project": "SRCH"}
    where: str  # who names it, e.g. "teams.search" or "policy.yaml: rule sev1, team search"


def target_checks(settings: Settings, policies: PolicySet) -> list[TargetCheck]:
    """Every distinct target named in `teams:` and in the policies, once each."""
    named: list[tuple[str, TargetsSpec]] = [
        (f"teams.{name}", team.targets) for name, team in settings.teams.items()
    ]
    for policy in policies.policies:
        blocks: list[tuple[str, PolicyTargetsSpec | None]] = [(policy.path, policy.spec.targets)]
        blocks += [(f"{policy.path}: rule {r.name}", r.targets) for r in policy.spec.rules]
        for where, block in blocks:
            if block is None:
                continue
            named.append((where, block))
            named += [(f"{where}, team {team}", spec) for team, spec in block.teams.items()]
    found: dict[tuple[str, tuple[tuple[str, str], ...]], TargetCheck] = {}
    for where, targets in named:
        for connector, replaced in _replacements(targets):
            key = (connector, tuple(sorted((k, repr(v)) for k, v in replaced.items())))
            found.setdefault(key, TargetCheck(connector, replaced, where))
    return list(found.values())


def _replacements(targets: TargetsSpec) -> list[tuple[str, dict[str, object]]]:
    found: list[tuple[str, dict[str, object]]] = []
    if targets.slack is not None:
        slack = {"incidents_channel": targets.slack.channel}
        slack["postmortem_channel"] = targets.slack.review_channel
        found.append(("slack", {k: v for k, v in slack.items() if v is not None}))
    if targets.calendar is not None:
        found.append(("google_calendar", {"calendar_id": targets.calendar.id}))
    if targets.jira is not None and (targets.jira.project or targets.jira.issue_type):
        jira = {"project": targets.jira.project, "issue_type": targets.jira.issue_type}
        found.append(("jira", {k: v for k, v in jira.items() if v is not None}))
    if targets.statuspage is not None:
        page: dict[str, object] = {"page_id": targets.statuspage.page_id}
        if targets.statuspage.components is not None:
            page["component_ids"] = list(targets.statuspage.components)
        found.append(("statuspage", {k: v for k, v in page.items() if v is not None}))
    return [(connector, replaced) for connector, replaced in found if replaced]
