"""Targets need connectors: `pmhub check`'s word on `teams:` and on the policies' `targets:`.

A target names a place in a tool (a channel, a project), never credentials, so each
needs its connector section under `connectors:`; and a team a policy routes must be
one `pmhub.yaml` defines, or its routing would silently apply to nobody. Problems
are at the target's line, in pmhub.yaml or in the policy file.
"""

from __future__ import annotations

from collections.abc import Mapping

from hub.config.problems import ConfigProblem
from hub.policy import PolicySet, Problem
from hub.policy.schema_teams import PolicyTargetsSpec
from hub.policy.teams import TeamSpec, named_targets
from hub.yamlpos import YamlDocument

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
