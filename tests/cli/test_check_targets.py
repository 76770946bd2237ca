"""`pmhub check` on targets (issue 15): each names a configured connector, each team exists.

A target is a place in a tool (a channel, a project): it needs that tool's connector
section, and a team a policy routes must be one of pmhub.yaml's `teams:` (a misspelt
team would route nothing, silently). Problems are at the target's own line.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from hub.cli import main
from hub.config import load_settings
from hub.config.team_checks import TargetCheck, target_checks
from hub.policy import load_policies

CONFIG = """\
connectors:
  slack:
    bot_token: xoxb-test
    incidents_channel: C0INCIDNTS
  jira:
    url: https://example.atlassian.net
    email: pmhub@example.com
    api_token: jira-token
    project: OPS
teams:
  checkout:
    when: {{service: [Checkout API]}}
    targets:
      slack: {{channel: C0CHKOUT1}}
      jira: {{project: CHK, components: [Checkout]}}
  search:
    when: {{custom_fields: {{Team: [Search]}}}}
    targets:
{search_targets}
policies: [policy.yaml]
"""
POLICY = """\
version: 1
targets:
  jira: {{issue_type: Bug}}
  teams:
{policy_teams}
rules:
  - name: all
    postmortem: required
{rule_targets}
"""


def _files(
    tmp_path: Path,
    *,
    search_targets: str = "      slack: {channel: C0SEARCH1}",
    policy_teams: str = "    search: {jira: {project: SRCH}}",
    rule_targets: str = "",
) -> Path:
    (tmp_path / "policy.yaml").write_text(
        POLICY.format(policy_teams=policy_teams, rule_targets=rule_targets)
    )
    config = tmp_path / "pmhub.yaml"
    config.write_text(CONFIG.format(search_targets=search_targets))
    return config


def _check(config: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["check", "--config", str(config)])
    return result.exit_code, result.output.splitlines()


def test_teams_and_targets_that_are_configured_pass(tmp_path: Path) -> None:
    code, lines = _check(_files(tmp_path))
    assert code == 0, lines
    assert lines[-1].endswith("OK (1 policy file(s), 1 rule(s))")


def test_a_teams_target_needs_its_connector(tmp_path: Path) -> None:
    config = _files(tmp_path, search_targets="      statuspage: {page_id: srchpage}")
    code, lines = _check(config)
    assert code == 1
    assert f"{config}:19:7: the statuspage target needs connectors.statuspage to be configured" in (
        lines
    )


def test_a_policys_target_needs_its_connector_and_its_team(tmp_path: Path) -> None:
    config = _files(
        tmp_path,
        policy_teams="    serch: {jira: {project: SRCH}}",
        rule_targets="    targets:\n      calendar: {id: search@group.calendar.google.com}",
    )
    code, lines = _check(config)
    policy = tmp_path / "policy.yaml"
    assert code == 1
    assert f"{policy}:5:5: unknown team 'serch' (allowed: checkout, search)" in lines
    calendar = "the calendar target needs connectors.google_calendar to be configured"
    assert f"{policy}:10:7: {calendar}" in lines
    assert lines[-1] == "2 problem(s) in the policy files."


def test_every_distinct_target_is_listed_for_the_doctor(tmp_path: Path) -> None:
    settings = load_settings(_files(tmp_path))
    policies = load_policies(settings.policies, settings.teams)
    checks = target_checks(settings, policies)
    assert TargetCheck("jira", {"project": "CHK"}, "teams.checkout") in checks
    assert TargetCheck("slack", {"incidents_channel": "C0SEARCH1"}, "teams.search") in checks
    policy = str(tmp_path / "policy.yaml")
    assert TargetCheck("jira", {"project": "SRCH"}, f"{policy}, team search") in checks
    assert TargetCheck("jira", {"issue_type": "Bug"}, policy) in checks
    assert len(checks) == len({(c.connector, tuple(c.settings.items())) for c in checks})


def test_the_configuration_schema_knows_teams_and_digest() -> None:
    result = CliRunner().invoke(main, ["schema", "config"])
    assert '"teams"' in result.output
    assert '"digest"' in result.output
    policy = CliRunner().invoke(main, ["schema", "policy"])
    assert '"targets"' in policy.output
    assert '"escalate"' in policy.output
