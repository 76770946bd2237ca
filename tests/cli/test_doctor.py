"""`pmhub doctor` against the vendors' fakes: one line per check, exit 1 on any FAIL.

Each misconfiguration issue 10 names gets its own test (wrong token, missing scope,
bot not in the channel, unknown project, unknown priority name), with the line that
says what to change; the targets a team routes to are checked too (issue 15). pmhub
runs as a process, as a person runs it, while this test's loop serves the fakes.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from connectors.common.fakeserver import start_fake
from connectors.google_calendar.fake import FakeGoogleCalendar
from connectors.incidentio.fake import FakeIncidentIo
from connectors.jira.fake import FakeJira
from connectors.pagerduty.fake import FakePagerDuty
from connectors.slack.fake import FakeSlack
from connectors.statuspage.fake import FakeStatuspage
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["loopback_tls"]
pytestmark = pytest.mark.slow

INCIDENTS, SEARCH_ROOM = "C0INCIDNTS", "C0SEARCH01"


@dataclass
class Fakes:
    slack: FakeSlack
    calendar: FakeGoogleCalendar
    jira: FakeJira
    pagerduty: FakePagerDuty
    incidentio: FakeIncidentIo
    statuspage: FakeStatuspage
    urls: dict[str, str]


@pytest.fixture
async def fakes(loopback_tls: LoopbackTls) -> AsyncIterator[Fakes]:
    slack = FakeSlack()
    slack.add_channel(INCIDENTS, "incidents")
    slack.add_channel(SEARCH_ROOM, "search-incidents")
    calendar = FakeGoogleCalendar()
    calendar.busy[calendar.calendar_id.casefold()] = []  # the shared calendar exists
    found = Fakes(
        slack, calendar, FakeJira(), FakePagerDuty(), FakeIncidentIo(), FakeStatuspage(), {}
    )
    runners = []
    try:
        for name, app in (
            ("slack", slack.make_app()),
            ("calendar", calendar.make_app()),
            ("jira", found.jira.make_app()),
            ("incidentio", found.incidentio.make_app()),
            ("statuspage", found.statuspage.make_app()),
        ):
            runner, found.urls[name] = await start_fake(app)
            runners.append(runner)
        # PagerDuty's client talks https:// only: its fake serves the test CA's certificate.
        runner, found.urls["pagerduty"] = await start_fake(
            found.pagerduty.make_app(), ssl_context=loopback_tls.server_context
        )
        runners.append(runner)
        found.urls["ca"] = str(loopback_tls.ca_pem)
        yield found
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


def _config(fakes: Fakes, tmp_path: Path, *, jira_extra: str = "", **override: str) -> Path:
    """pmhub.yaml for every fake; `override` replaces one credential or setting by name."""
    values = {
        "slack_token": fakes.slack.token,
        "jira_token": fakes.jira.api_token,
        "jira_project": "OPS",
        "pd_token": fakes.pagerduty.token,
        "io_key": fakes.incidentio.api_key,
        "sp_key": fakes.statuspage.api_key,
        "sp_url": f"{fakes.urls['statuspage']}/v1",
        "teams": "",
    } | override
    urls = fakes.urls
    text = f"""\
sources:
  pagerduty:
    webhook_secrets: [pd-doctor-secret]
    api_token: {values["pd_token"]}
    base_url: {urls["pagerduty"]}
    ca_bundle: {urls["ca"]}
  incidentio:
    webhook_secrets: [whsec_ZG9jdG9yZG9jdG9y]
    api_key: {values["io_key"]}
    base_url: {urls["incidentio"]}
connectors:
  slack:
    bot_token: {values["slack_token"]}
    base_url: {urls["slack"]}/api/
    incidents_channel: {INCIDENTS}
  google_calendar:
    calendar_id: {fakes.calendar.calendar_id}
    root_url: {urls["calendar"]}/
  jira:
    url: {urls["jira"]}
    email: {fakes.jira.email}
    api_token: {values["jira_token"]}
    project: {values["jira_project"]}
{jira_extra}  statuspage:
    api_key: {values["sp_key"]}
    page_id: {fakes.statuspage.page_id}
    base_url: {values["sp_url"]}
{values["teams"]}"""
    config = tmp_path / "pmhub.yaml"
    config.write_text(text)
    return config


async def _doctor(config: Path) -> tuple[int, list[str], str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        "doctor",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert "Traceback" not in err.decode(), err.decode()
    assert process.returncode is not None
    return process.returncode, out.decode().splitlines(), err.decode()


def _failures(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("FAIL")]


async def test_a_good_configuration_passes_every_check(fakes: Fakes, tmp_path: Path) -> None:
    code, lines, _ = await _doctor(_config(fakes, tmp_path))
    assert _failures(lines) == []
    assert code == 0
    assert all(line.startswith("ok   ") for line in lines)
    assert "ok   slack: auth.test as @pmhub (team T0PMHUB001)" in lines
    assert f"ok   slack: the bot is in incidents_channel {INCIDENTS}" in lines
    assert "ok   jira: project OPS (Operations)" in lines
    assert "ok   jira: issue type Task in OPS" in lines
    assert any(line.startswith("ok   jira: priority names in priority_map exist") for line in lines)
    assert any(line.startswith("ok   jira: the labels field is there") for line in lines)
    calendar = fakes.calendar.calendar_id
    assert f"ok   google_calendar: freeBusy reaches {calendar}" in lines
    assert any(line.startswith("ok   pagerduty: the REST API token is valid") for line in lines)
    assert any(line.startswith("ok   incidentio: API key 'pmhub' is valid") for line in lines)
    assert f"ok   statuspage: page {fakes.statuspage.page_id} (pmhub fake status)" in lines
    # Read only: the fakes were asked, nothing was written.
    assert fakes.slack.messages[INCIDENTS] == []
    assert fakes.jira.issues == {}
    assert fakes.statuspage.incidents == {}


async def test_a_wrong_slack_token_says_where_the_right_one_is(
    fakes: Fakes, tmp_path: Path
) -> None:
    code, lines, err = await _doctor(_config(fakes, tmp_path, slack_token="xoxb-revoked"))
    [failure] = _failures(lines)
    assert failure.startswith("FAIL slack: auth.test: credentials refused")
    assert "connectors.slack.bot_token" in failure
    assert "xoxb-revoked" not in "\n".join(lines) + err  # a configured secret is never printed
    assert code == 1
    assert "1 problem(s) found." in err


async def test_a_missing_scope_is_named_with_how_to_add_it(fakes: Fakes, tmp_path: Path) -> None:
    fakes.slack.scopes -= {"chat:write", "pins:read"}
    code, lines, _ = await _doctor(_config(fakes, tmp_path))
    assert _failures(lines) == [
        "FAIL slack: missing scope chat:write — add it in the Slack app's OAuth & Permissions"
        " (or deploy/slack/manifest.yaml) and reinstall the app",
        "FAIL slack: missing scope pins:read — add it in the Slack app's OAuth & Permissions"
        " (or deploy/slack/manifest.yaml) and reinstall the app",
    ]
    assert code == 1


async def test_a_bot_outside_the_incidents_channel_is_told_to_invite_it(
    fakes: Fakes, tmp_path: Path
) -> None:
    fakes.slack.not_member.add(INCIDENTS)
    code, lines, _ = await _doctor(_config(fakes, tmp_path))
    assert _failures(lines) == [
        f"FAIL slack: the bot is not in incidents_channel {INCIDENTS} — invite it: "
        "/invite @pmhub in that channel"
    ]
    assert code == 1


async def test_an_unknown_jira_project_is_named(fakes: Fakes, tmp_path: Path) -> None:
    code, lines, _ = await _doctor(_config(fakes, tmp_path, jira_project="NOPE"))
    [failure] = _failures(lines)
    assert failure.startswith("FAIL jira: project NOPE not found — set connectors.jira.project")
    assert code == 1


async def test_an_unknown_priority_name_lists_the_ones_jira_has(
    fakes: Fakes, tmp_path: Path
) -> None:
    priority_map = "    priority_map: {P0: Highest, P1: Urgent}\n"
    code, lines, _ = await _doctor(_config(fakes, tmp_path, jira_extra=priority_map))
    assert _failures(lines) == [
        "FAIL jira: priority 'Urgent' (priority_map P1) does not exist in Jira (it has: "
        "Highest, High, Medium, Low, Lowest) — change connectors.jira.priority_map"
    ]
    assert code == 1


async def test_wrong_credentials_fail_for_every_vendor(fakes: Fakes, tmp_path: Path) -> None:
    config = _config(
        fakes,
        tmp_path,
        jira_token="expired-jira",
        pd_token="expired-pagerduty",
        io_key="expired-incidentio",
        sp_key="expired-statuspage",
    )
    code, lines, _ = await _doctor(config)
    failures = _failures(lines)
    assert [line.split(":", 1)[0] for line in failures] == [
        "FAIL jira",
        "FAIL pagerduty",
        "FAIL incidentio",
        "FAIL statuspage",
    ]
    assert all("credentials refused" in line for line in failures)
    assert "connectors.jira.email and api_token" in failures[0]
    assert "sources.pagerduty.api_token" in failures[1]
    assert "sources.incidentio.api_key" in failures[2]
    assert "connectors.statuspage.api_key" in failures[3]
    assert code == 1


async def test_an_unreachable_vendor_is_a_line_not_a_traceback(
    fakes: Fakes, tmp_path: Path
) -> None:
    with socket.socket() as closed:  # a port nothing listens on once this socket closes
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    code, lines, _ = await _doctor(_config(fakes, tmp_path, sp_url=f"http://127.0.0.1:{port}/v1"))
    [failure] = _failures(lines)
    assert failure.startswith("FAIL statuspage: GET page")
    assert "no usable answer" in failure
    assert code == 1


async def test_each_channel_a_team_routes_to_is_checked_too(fakes: Fakes, tmp_path: Path) -> None:
    teams = f"""\
teams:
  search:
    when: {{service: [Search]}}
    targets:
      slack: {{channel: {SEARCH_ROOM}}}
      jira: {{project: SRCH}}
"""
    fakes.slack.not_member.add(SEARCH_ROOM)
    code, lines, _ = await _doctor(_config(fakes, tmp_path, teams=teams))
    failures = _failures(lines)
    assert (
        f"FAIL slack (teams.search): the bot is not in incidents_channel {SEARCH_ROOM}"
        in (failures[0])
    )
    assert failures[1].startswith("FAIL jira (teams.search): project SRCH not found")
    assert failures[1].endswith("(here: the project that teams.search names)")
    assert len(failures) == 2
    # The token and its scopes were checked once, with the defaults, not again per team.
    assert sum("auth.test" in line for line in lines) == 1
    assert code == 1
