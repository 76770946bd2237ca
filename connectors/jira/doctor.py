"""`pmhub doctor` for Jira: the account, the project, its issue type, priorities, labels.

Read only: GET myself, project/{key} (its issue types), priority and field — each a
thing a follow-up ticket needs, checked before the first incident needs it.
"""

from __future__ import annotations

import aiohttp

from connectors.common.doctor import CheckFailed, Finding, attempt, fail, ok
from connectors.jira.client import JiraClient
from connectors.jira.config import Deployment, JiraConfig


def _credentials_hint(config: JiraConfig) -> str:
    if config.deployment is Deployment.CLOUD:
        return (
            "set connectors.jira.email and api_token to an Atlassian account's email and an "
            "API token made at id.atlassian.com → Security → API tokens"
        )
    return (
        "set connectors.jira.token to a personal access token "
        "(Jira profile → Personal Access Tokens)"
    )


async def diagnose(config: JiraConfig, session: aiohttp.ClientSession) -> list[Finding]:
    """One finding per check; refused credentials stop the rest."""
    del session  # the jira package brings its own (requests) transport
    client = JiraClient(config)
    try:
        return await _diagnose(client, config)
    finally:
        await client.close()


async def _diagnose(client: JiraClient, config: JiraConfig) -> list[Finding]:
    hint = _credentials_hint(config)
    try:
        me = await attempt(client.myself(), "GET myself", auth_hint=hint)
    except CheckFailed as failed:
        return [failed.finding]
    who = me.get("displayName") or me.get("emailAddress") or me.get("name") or "?"
    findings = [ok(f"myself: {who} on {config.url}")]
    try:
        project = await attempt(client.project(config.project), "GET project", auth_hint=hint)
        priorities = await attempt(client.priority_names(), "GET priority", auth_hint=hint)
        fields = await attempt(client.fields(), "GET field", auth_hint=hint)
    except CheckFailed as failed:
        return [*findings, failed.finding]
    findings += _project_findings(config, project)
    findings += _priority_findings(config, priorities)
    if any(field.get("id") == "labels" for field in fields):
        findings.append(ok("the labels field is there (follow-ups are found by their label)"))
    else:
        findings.append(
            fail(
                "no labels field — pmhub finds its tickets by a label: restore the system "
                "field Labels in the project's screens and field configuration"
            )
        )
    return findings


def _project_findings(config: JiraConfig, project: dict[str, object] | None) -> list[Finding]:
    if project is None:
        return [
            fail(
                f"project {config.project} not found — set connectors.jira.project to the key "
                "of an existing project this account can browse (Project settings → Details)"
            )
        ]
    findings = [ok(f"project {config.project} ({project.get('name') or '?'})")]
    raw_types = project.get("issueTypes")
    types = [t for t in raw_types if isinstance(t, dict)] if isinstance(raw_types, list) else []
    names = sorted(str(t.get("name")) for t in types if t.get("name"))
    wanted = [config.issue_type] + ([config.parent_issue_type] if config.parent_issue else [])
    for issue_type in wanted:
        if issue_type in names:
            findings.append(ok(f"issue type {issue_type} in {config.project}"))
        else:
            findings.append(
                fail(
                    f"issue type {issue_type!r} is not in project {config.project} "
                    f"(it has: {', '.join(names) or 'none'}) — set connectors.jira.issue_type "
                    "to one of them"
                )
            )
    return findings


def _priority_findings(config: JiraConfig, priorities: list[str]) -> list[Finding]:
    unknown = {
        severity: name for severity, name in config.priority_map.items() if name not in priorities
    }
    if not unknown:
        used = ", ".join(sorted(set(config.priority_map.values())))
        return [ok(f"priority names in priority_map exist: {used}")]
    return [
        fail(
            f"priority {name!r} (priority_map {severity}) does not exist in Jira (it has: "
            f"{', '.join(priorities)}) — change connectors.jira.priority_map"
        )
        for severity, name in sorted(unknown.items())
    ]
