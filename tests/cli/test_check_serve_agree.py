"""Whatever `pmhub check` accepts, `pmhub serve` starts with; whatever it refuses, it says
where (file:line:column), one line per problem, and `serve` refuses the same way.

Starting means the whole application: the store migrated, every configured connector
built from its section, the front door answering (on port 0, stopped again).
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hub.cli import main
from hub.config import ConfigError, Settings, load_settings
from tests.support.daemon import running_daemon
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["loopback_tls"]  # the fixture, for this module

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"
POSITIONED = re.compile(r"^[^:\n]+:\d+:\d+: \S")
SUMMARY = re.compile(r"^\d+ problem\(s\) in the configuration\.$")


@pytest.fixture
def config_dir(tmp_path: Path, loopback_tls: LoopbackTls) -> Path:
    """A directory with the files a configuration may name: good ones and bad ones."""
    shutil.copy(loopback_tls.ca_pem, tmp_path / "ca.pem")
    shutil.copy(FIXTURES / "secrets" / "google-service-account.json", tmp_path / "sa.json")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "app.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp_path / "not-a-pem.txt").write_text("certainly not a certificate\n")
    (tmp_path / "empty.json").write_text("{}\n")
    return tmp_path


def write_config(directory: Path, body: str) -> Path:
    head = f'server: {{port: 0}}\nstore: {{url: "sqlite+aiosqlite:///{directory}/pmhub.db"}}\n'
    path = directory / "pmhub.yaml"
    path.write_text(head + textwrap.dedent(body))
    return path


async def starts(path: Path) -> Settings:
    """Start the daemon as `serve` would (port 0, no worker), answer /healthz, stop."""
    async with running_daemon(path, run_worker=False) as daemon:
        response = await daemon.client.get("/healthz")
        assert response.status == 200
        return daemon.settings


def dotted(settings: Settings, path: str) -> Any:
    value: Any = settings
    for name in path.split("."):
        value = getattr(value, name)
    return value


@dataclass(frozen=True)
class Accepted:
    body: str
    expect: dict[str, Any]


ACCEPTED = {
    "nothing configured": Accepted("", {"connectors.slack": None}),
    "slack, every key": Accepted(
        """
        connectors:
          slack:
            bot_token: xoxb-1
            base_url: http://127.0.0.1:9/api
            incidents_channel: C0123ABCD
            post_interval_seconds: 0.5
            user_cache_seconds: 60
            find_window_seconds: 3600
            find_max_pages: 2
            history_page_size: 15
        """,
        {
            "connectors.slack.base_url": "http://127.0.0.1:9/api/",
            "connectors.slack.post_interval_seconds": 0.5,
            "connectors.slack.user_cache_seconds": 60,
            "connectors.slack.find_window_seconds": 3600,
            "connectors.slack.find_max_pages": 2,
        },
    ),
    "calendar at a fake, no credentials": Accepted(
        """
        connectors:
          google_calendar:
            calendar_id: x
            root_url: http://127.0.0.1:9
            max_concurrency: 2
            scopes: [https://www.googleapis.com/auth/calendar.events]
        """,
        {
            "connectors.google_calendar.max_concurrency": 2,
            "connectors.google_calendar.scopes": (
                "https://www.googleapis.com/auth/calendar.events",
            ),
            "connectors.google_calendar.conference": False,
        },
    ),
    "calendar at Google, delegated": Accepted(
        """
        connectors:
          google_calendar:
            calendar_id: postmortems@example.com
            credentials_file: sa.json
            subject: sre-bot@example.com
            conference: true
        """,
        {"connectors.google_calendar.conference": True},
    ),
    "jira cloud, every key": Accepted(
        """
        connectors:
          jira:
            url: https://example.atlassian.net/
            email: bot@example.com
            api_token: t
            project: OPS
            parent_issue: true
            parent_issue_type: Story
            ca_bundle: ca.pem
        """,
        {
            "connectors.jira.url": "https://example.atlassian.net",
            "connectors.jira.parent_issue_type": "Story",
        },
    ),
    "jira data center": Accepted(
        "connectors:\n  jira: {url: 'http://127.0.0.1:9', token: t, project: OPS}\n",
        {"connectors.jira.rest_api_version": "2"},
    ),
    "statuspage, every key": Accepted(
        """
        connectors:
          statuspage:
            api_key: k
            page_id: p
            base_url: http://127.0.0.1:9/v1
            mode: postmortem
            component_ids: [c1]
            notify_subscribers: false
            min_interval_seconds: 2
        """,
        {
            "connectors.statuspage.notify_subscribers": False,
            "connectors.statuspage.min_interval_seconds": 2,
        },
    ),
    "pagerduty with its API": Accepted(
        """
        sources:
          pagerduty:
            webhook_secrets: [s]
            api_token: t
            base_url: https://127.0.0.1:9/
            from_email: bot@example.com
            ca_bundle: ca.pem
            timeout_seconds: 3
            user_cache_seconds: 30
        """,
        {"sources.pagerduty.base_url": "https://127.0.0.1:9"},
    ),
    "pagerduty webhooks only": Accepted(
        "sources:\n  pagerduty: {webhook_secrets: [s]}\n", {"sources.pagerduty.api_token": None}
    ),
    "incident.io with its API": Accepted(
        """
        sources:
          incidentio:
            webhook_secrets: [whsec_YWJj]
            api_key: k
            base_url: http://127.0.0.1:9/
            timeout_seconds: 3
        """,
        {"sources.incidentio.timeout_seconds": 3},
    ),
    "documents and email": Accepted(
        """
        connectors:
          google_docs:
            folder_id: f
            root_url: http://127.0.0.1:9
            docs_root_url: http://127.0.0.1:9
            ca_bundle: ca.pem
          github: {repository: o/r, app_id: 1, installation_id: 2, private_key_file: app.pem}
          email: {host: localhost, from_address: pmhub@example.com, ca_bundle: ca.pem}
        """,
        {"connectors.github.app_id": 1},
    ),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
async def test_what_check_accepts_serve_starts_with(config_dir: Path, case: str) -> None:
    accepted = ACCEPTED[case]
    path = write_config(config_dir, accepted.body)
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    assert result.exit_code == 0, result.output
    settings = await starts(path)
    for key, value in accepted.expect.items():
        assert dotted(settings, key) == value, key


# body, the line of the problem, a word of its message
REFUSED = {
    "pagerduty's client talks https only": (
        "sources:\n  pagerduty:\n    webhook_secrets: [s]\n    api_token: t\n"
        "    base_url: http://127.0.0.1:9\n",
        7,
        "https://",
    ),
    "calendar at Google without credentials": (
        "connectors:\n  google_calendar: {calendar_id: x}\n",
        4,
        "credentials_file and subject",
    ),
    "calendar key that is no key": (
        "connectors:\n  google_calendar:\n    calendar_id: x\n    credentials_file: empty.json\n"
        "    subject: a@example.com\n",
        6,
        "service-account key",
    ),
    "calendar subject without a key": (
        "connectors:\n  google_calendar:\n    calendar_id: x\n    root_url: http://127.0.0.1:9\n"
        "    subject: a@example.com\n",
        7,
        "go together",
    ),
    "a CA bundle that is not PEM": (
        "connectors:\n  jira:\n    url: https://j.example\n    token: t\n    project: P\n"
        "    ca_bundle: not-a-pem.txt\n",
        8,
        "not a PEM bundle",
    ),
    "a GitHub App key that is not PEM": (
        "connectors:\n  github: {repository: o/r, app_id: 1, installation_id: 2,"
        " private_key_file: not-a-pem.txt}\n",
        4,
        "not a PEM private key",
    ),
    "slack pages at least one": (
        "connectors:\n  slack:\n    bot_token: x\n    incidents_channel: C0123ABCD\n"
        "    find_max_pages: 0\n",
        7,
        "at least 1",
    ),
    "statuspage pacing is not negative": (
        "connectors:\n  statuspage: {api_key: k, page_id: p, min_interval_seconds: -1}\n",
        4,
        "at least 0",
    ),
    "an empty token from the environment": (
        "connectors:\n  statuspage: {api_key: '', page_id: p}\n",
        4,
        "must not be empty",
    ),
    "a timeout that never ends": (
        "sources:\n  incidentio: {webhook_secrets: [whsec_YWJj], api_key: k,"
        " timeout_seconds: .inf}\n",
        4,
        "finite",
    ),
    "an incident.io secret the verifier cannot decode": (
        "sources:\n  incidentio:\n    webhook_secrets:\n      - whsec_abc\n",
        6,
        "base64",
    ),
    "calendar concurrency bounded": (
        "connectors:\n  google_calendar:\n    calendar_id: x\n    root_url: http://127.0.0.1:9\n"
        "    max_concurrency: 100\n",
        7,
        "at most 32",
    ),
}


def assert_refused_in_one_line_each(output: str, path: Path, line: int, needle: str) -> None:
    lines = output.splitlines()
    assert lines, "nothing said"
    assert "Traceback" not in output
    assert all(POSITIONED.match(text) or SUMMARY.match(text) for text in lines), output
    assert any(text.startswith(f"{path}:{line}:") and needle in text for text in lines), output


@pytest.mark.parametrize("command", ["check", "serve"])
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_check_refuses_it_locates_and_serve_refuses_too(
    config_dir: Path, case: str, command: str
) -> None:
    body, line, needle = REFUSED[case]
    path = write_config(config_dir, body)
    result = CliRunner().invoke(main, [command, "--config", str(path)])
    assert result.exit_code == 1
    assert_refused_in_one_line_each(result.output, path, line, needle)


def test_a_refused_configuration_raises_config_error_not_a_validation_error(
    config_dir: Path,
) -> None:
    body, _, _ = REFUSED["calendar at Google without credentials"]
    with pytest.raises(ConfigError):
        load_settings(write_config(config_dir, body))


# The connector settings the file could not give before each section was the connector's
# own model (issue 10 §2), and where `pmhub schema` must now describe them.
ONCE_UNSETTABLE = {
    "SlackConfig": [
        "post_interval_seconds",
        "user_cache_seconds",
        "find_window_seconds",
        "find_max_pages",
    ],
    "GoogleCalendarConfig": ["max_concurrency", "scopes"],
    "JiraConfig": ["parent_issue_type", "ca_bundle"],
    "StatuspageConfig": ["min_interval_seconds", "notify_subscribers"],
}


@pytest.mark.parametrize("model", sorted(ONCE_UNSETTABLE))
def test_pmhub_schema_describes_every_connector_setting(model: str) -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    properties = json.loads(result.output)["$defs"][model]["properties"]
    for key in ONCE_UNSETTABLE[model]:
        assert properties[key]["description"], key
