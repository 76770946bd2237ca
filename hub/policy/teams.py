"""Teams and their targets: which team an incident belongs to, and where its effects go.

The configuration owns the mapping (`teams:` in `pmhub.yaml`): each team is a `when`
condition over what the incident tools say (PagerDuty services and teams,
incident.io teams and custom fields), first match wins, plus the team's own targets.
A policy's `targets:` and a rule's `targets:` (each with per-team entries) override
those; what nobody names is the connector's setting in `pmhub.yaml`.

Targets are folded field by field, most specific first:

    rule.targets.teams[team] > rule.targets > policy.targets.teams[team]
        > policy.targets > pmhub.yaml teams[team].targets > the connector's setting

so a rule can send SEV-1s to one channel while every team keeps its own Jira
project. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from hub.model.incident import Incident
from hub.model.routing import DocumentRoute, Route, StatusPageRoute, TrackerRoute
from hub.policy.conditions import matches
from hub.policy.schema import Condition, PolicySpec
from hub.policy.schema_teams import Block, PolicyTargetsSpec, TargetsSpec
from hub.yamlpos import YamlDocument


class TeamSpec(Block):
    """One team of `pmhub.yaml`'s `teams:`: which incidents are its, and its targets."""

    when: Condition = Field(
        description="which incidents are the team's: service, team, custom_fields, … "
        "(the policy's condition language); the first team that matches owns the incident"
    )
    targets: TargetsSpec = Field(default=TargetsSpec(), description="the team's defaults")
    digest: bool = Field(default=True, description="send this team the weekly digest")


Teams = Mapping[str, TeamSpec]


def team_of(incident: Incident, teams: Teams) -> str | None:
    """The first team whose `when` matches the incident; None when no team claims it."""
    return next((name for name, team in teams.items() if matches(team.when, incident)), None)


def resolve_route(
    team: str | None,
    *,
    rule: PolicyTargetsSpec | None,
    policy: PolicyTargetsSpec | None,
    teams: Teams,
) -> Route:
    """The targets of an incident of `team` under a rule of a policy (see the module doc)."""
    layers: list[TargetsSpec] = []
    for spec in (rule, policy):
        if spec is None:
            continue
        if team is not None and team in spec.teams:
            layers.append(spec.teams[team])
        layers.append(spec)
    if team is not None and team in teams:
        layers.append(teams[team].targets)
    channel = _first(layers, "slack", "channel")
    tracker = TrackerRoute(
        project=_first(layers, "jira", "project"),
        issue_type=_first(layers, "jira", "issue_type"),
        components=_tuple(_first(layers, "jira", "components")),
    )
    page = StatusPageRoute(
        page_id=_first(layers, "statuspage", "page_id"),
        component_ids=_tuple(_first(layers, "statuspage", "components")),
    )
    document = DocumentRoute(
        folder=_first(layers, "document", "folder"),
        repository=_first(layers, "document", "repository"),
        path=_first(layers, "document", "path"),
    )
    return Route(
        team=team,
        channel=channel,
        review_channel=_first(layers, "slack", "review_channel") or channel,
        calendar_id=_first(layers, "calendar", "id"),
        tracker=tracker if tracker != TrackerRoute() else None,
        status_page=page if page != StatusPageRoute() else None,
        stakeholders=_tuple(_first(layers, "email", "stakeholders")),
        document=document if document != DocumentRoute() else None,
    )


def _first(layers: Sequence[TargetsSpec], target: str, key: str) -> Any:
    for layer in layers:
        section = getattr(layer, target)
        value = getattr(section, key, None) if section is not None else None
        if value is not None:
            return value
    return None


def _tuple(values: Sequence[str] | None) -> tuple[str, ...] | None:
    return tuple(values) if values is not None else None


# -- where targets are written, for `pmhub check` ------------------------------------

TARGET_KINDS = ("slack", "calendar", "jira", "statuspage", "email", "document")


def named_targets(spec: PolicyTargetsSpec | TargetsSpec) -> dict[tuple[str, ...], str]:
    """Every target a block names: (team or "", kind) path suffix -> kind."""
    found: dict[tuple[str, ...], str] = {}
    for kind in TARGET_KINDS:
        if getattr(spec, kind) is not None:
            found[(kind,)] = kind
    for team, targets in getattr(spec, "teams", {}).items():
        for kind in TARGET_KINDS:
            if getattr(targets, kind) is not None:
                found[("teams", team, kind)] = kind
    return found


def target_positions(spec: PolicySpec, doc: YamlDocument) -> dict[tuple[str, ...], tuple[int, int]]:
    """Where each target and team of a policy is written (keys as `Policy.positions`):
    `("targets", …)` for the policy's, `("rule", <name>, "targets", …)` for a rule's."""
    found: dict[tuple[str, ...], tuple[int, int]] = {}
    blocks: list[tuple[tuple[str, ...], tuple[str | int, ...], PolicyTargetsSpec]] = [
        ((), ("targets",), spec.targets)
    ]
    for index, rule in enumerate(spec.rules):
        if rule.targets is not None:
            blocks.append((("rule", rule.name), ("rules", index, "targets"), rule.targets))
    for prefix, loc, targets in blocks:
        for suffix in named_targets(targets):
            pos = doc.position((*loc, *suffix), key=True)
            found[(*prefix, "targets", *suffix)] = (pos.line, pos.column)
        for team in targets.teams:
            pos = doc.position((*loc, "teams", team), key=True)
            found[(*prefix, "targets", "teams", team)] = (pos.line, pos.column)
    return found
