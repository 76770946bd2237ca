"""`pmhub doctor` on what a policy routes to, and on settings only a connector refuses.

In-process (`diagnose_all`, what the command prints): a policy's Jira issue type that
the project lacks is a FAIL named after the policy; a section `pmhub check` accepts but
the connector's own model refuses is a FAIL line too, with no vendor asked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.common.fakeserver import start_fake
from connectors.jira.fake import FakeJira
from connectors.statuspage.fake import FakeStatuspage
from hub.cli import main
from hub.cli.doctor import diagnose_all, render
from hub.config import load_settings
from hub.policy import load_policies

POLICY = """\
version: 1
targets:
  jira: {issue_type: Story}
rules:
  - name: all
    postmortem: required
"""


@pytest.fixture
async def jira() -> AsyncIterator[tuple[FakeJira, str]]:
    fake = FakeJira()
    runner, url = await start_fake(fake.make_app())
    yield fake, url
    await runner.cleanup()


async def _lines(config: Path) -> list[str]:
    settings = load_settings(config)
    results = await diagnose_all(settings, load_policies(settings.policies, settings.teams))
    return [render(label, finding) for label, finding in results]


async def test_an_issue_type_a_policy_names_is_checked_in_the_project(
    jira: tuple[FakeJira, str], tmp_path: Path
) -> None:
    fake, url = jira
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    config = tmp_path / "pmhub.yaml"
    config.write_text(
        "connectors:\n"
        "  jira:\n"
        f"    url: {url}\n"
        f"    email: {fake.email}\n"
        f"    api_token: {fake.api_token}\n"
        "    project: OPS\n"
        f"policies: [{policy}]\n"
    )
    lines = await _lines(config)
    assert "ok   jira: issue type Task in OPS" in lines
    assert [line for line in lines if line.startswith("FAIL")] == [
        f"FAIL jira ({policy}): issue type 'Story' is not in project OPS (it has: Bug, Epic, "
        "Sub-task, Task) — set connectors.jira.issue_type to one of them "
        f"(here: the issue_type that {policy} names)"
    ]
    # The defaults' checks are not repeated for the policy's target.
    assert sum(line.startswith("ok   jira: myself") for line in lines) == 1


def test_settings_the_connector_refuses_are_a_positioned_line_not_a_traceback(
    tmp_path: Path,
) -> None:
    # Google's own API root without credentials: the section is the connector's own
    # settings model, so `check` (which doctor runs first) refuses it at its line,
    # before any request is made.
    config = tmp_path / "pmhub.yaml"
    config.write_text("connectors:\n  google_calendar:\n    calendar_id: team@example.com\n")
    result = CliRunner().invoke(main, ["doctor", "--config", str(config)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.splitlines()[0] == (
        f"{config}:2:3: connectors.google_calendar.credentials_file: Google Calendar needs "
        "credentials_file and subject (domain-wide delegation); only a fake at another "
        "root_url needs neither"
    )


async def test_a_teams_page_and_components_are_checked_within_the_limit(tmp_path: Path) -> None:
    # One request a second per key: the team's page, checked right after the default
    # one with the same key, waits its turn instead of meeting a 420.
    fake = FakeStatuspage()
    runner, url = await start_fake(fake.make_app())
    config = tmp_path / "pmhub.yaml"
    config.write_text(
        "connectors:\n"
        "  statuspage:\n"
        f"    api_key: {fake.api_key}\n"
        f"    page_id: {fake.page_id}\n"
        f"    base_url: {url}/v1\n"
        "teams:\n"
        "  search:\n"
        "    when: {service: [Search]}\n"
        "    targets:\n"
        "      statuspage: {page_id: srchpage0001}\n"
        "  checkout:\n"
        "    when: {service: [Checkout]}\n"
        "    targets:\n"
        "      statuspage: {components: [chkoutcomp01]}\n"
    )
    try:
        lines = await _lines(config)
    finally:
        await runner.cleanup()
    assert lines == [
        f"ok   statuspage: page {fake.page_id} (pmhub fake status)",
        "FAIL statuspage (teams.search): page srchpage0001 not found for this API key — set "
        "connectors.statuspage.page_id to the page id shown on the API info page "
        "(here: the page_id that teams.search names)",
        "FAIL statuspage (teams.checkout): component(s) chkoutcomp01 not on page "
        f"{fake.page_id} — set connectors.statuspage.component_ids to ids from the page's "
        "Components tab (here: the component_ids that teams.checkout names)",
    ]


async def test_jira_data_center_is_checked_over_its_own_api(tmp_path: Path) -> None:
    # A personal access token: REST API v2, bearer auth; the same checks, and a refused
    # token says where Data Center makes one.
    fake = FakeJira(deployment="Server")
    runner, url = await start_fake(fake.make_app())
    config = tmp_path / "pmhub.yaml"
    section = f"connectors:\n  jira:\n    url: {url}\n    project: OPS\n    token: "
    try:
        config.write_text(section + fake.pat + "\n")
        good = await _lines(config)
        config.write_text(section + "revoked-pat\n")
        [refused] = await _lines(config)
    finally:
        await runner.cleanup()
    assert [line for line in good if line.startswith("FAIL")] == []
    assert "ok   jira: project OPS (Operations)" in good
    assert all("/rest/api/2/" in e.path for e in fake.exchanges)
    assert refused.startswith("FAIL jira: GET myself: credentials refused")
    assert "connectors.jira.token" in refused
