"""The property behind the table in test_check_serve_agree.py, over drawn configurations.

Each example is one vendor section: a valid minimum with some keys replaced by values
drawn from good and bad ones (wrong types, bounds, schemes, files that are missing or
are not what they should be). Whatever the loader (`pmhub check`) accepts, the daemon
(`pmhub serve`) starts with; whatever it refuses, every problem is one positioned line.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hub.config import ConfigError, load_settings
from tests.support.daemon import running_daemon
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["loopback_tls"]  # the fixture, for this module

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"
POSITIONED = re.compile(r"^[^:\n]+:\d+:\d+: \S[^\n]*$")

URLS = ["http://127.0.0.1:9", "https://127.0.0.1:9/x/", "ftp://x", "not a url", "", 42]
FILES = [None, "sa.json", "ca.pem", "app.pem", "empty.json", "not-a-pem.txt", "missing", "."]
SECONDS = [0, 0.5, 30, -1, "soon", float("inf"), True]

# section path -> (a valid minimum, key -> values to draw from)
SECTIONS: dict[tuple[str, str], tuple[dict[str, Any], dict[str, list[Any]]]] = {
    ("connectors", "slack"): (
        {"bot_token": "xoxb-1", "incidents_channel": "C0123ABCD"},
        {
            "bot_token": ["", "x", 5],
            "base_url": URLS,
            "incidents_channel": ["C0123ABCD", "#incidents", "G1"],
            "postmortem_channel": [None, "C0999", "general"],
            "timeout_seconds": SECONDS,
            "post_interval_seconds": SECONDS,
            "user_cache_seconds": SECONDS,
            "find_window_seconds": SECONDS,
            "find_max_pages": [0, 1, 5, "many"],
            "history_page_size": [1, 999, 1000],
            "channel": ["C0123ABCD"],  # not a key of the section
        },
    ),
    ("connectors", "google_calendar"): (
        {"calendar_id": "c", "root_url": "http://127.0.0.1:9"},
        {
            "calendar_id": ["", "c@example.com", None],
            "credentials_file": FILES,
            "subject": [None, "a@example.com", ""],
            "root_url": ["https://www.googleapis.com/", *URLS],
            "scopes": [[], ["https://www.googleapis.com/auth/calendar"], "one", [""]],
            "max_concurrency": [0, 1, 32, 33],
            "conference": [True, False, "maybe"],
            "min_notice_minutes": [0, 60, -1],
            "timeout_seconds": SECONDS,
        },
    ),
    ("connectors", "jira"): (
        {"url": "https://jira.example", "token": "t", "project": "OPS"},
        {
            "url": URLS,
            "email": [None, "a@example.com"],
            "api_token": [None, "k", ""],
            "token": [None, "t", ""],
            "project": ["", "OPS"],
            "parent_issue": [True, "no"],
            "parent_issue_type": ["", "Story"],
            "priority_map": [{}, {"P0": "Blocker"}, {"P0": 1}, ["P0"]],
            "ca_bundle": FILES,
            "timeout_seconds": SECONDS,
        },
    ),
    ("connectors", "statuspage"): (
        {"api_key": "k", "page_id": "p"},
        {
            "api_key": ["", "k"],
            "page_id": ["", "p"],
            "base_url": URLS,
            "mode": ["incident", "postmortem", "update"],
            "component_ids": [[], ["c1"], "c1"],
            "notify_subscribers": [True, False, "maybe"],
            "min_interval_seconds": SECONDS,
            "timeout_seconds": SECONDS,
        },
    ),
    ("sources", "pagerduty"): (
        {"webhook_secrets": ["s"]},
        {
            "webhook_secrets": [[], ["s"], "s", [""]],
            "api_token": [None, "t", ""],
            "base_url": ["https://api.pagerduty.com", *URLS],
            "from_email": [None, "a@example.com", "nobody"],
            "ca_bundle": FILES,
            "timeout_seconds": SECONDS,
            "user_cache_seconds": SECONDS,
        },
    ),
    ("sources", "incidentio"): (
        {"webhook_secrets": ["whsec_YWJj"]},
        {
            "webhook_secrets": [["whsec_YWJj"], ["whsec_abc"], ["YWJj"], []],
            "api_key": [None, "k", ""],
            "base_url": URLS,
            "timeout_seconds": SECONDS,
            "followup_priorities": [{"Urgent": "P0"}, {"a": "P0", "A": "P1"}, {"x": "P9"}],
        },
    ),
    ("connectors", "github"): (
        {"repository": "o/r", "token": "t"},
        {
            "repository": ["o/r", "o", ""],
            "token": [None, "t"],
            "app_id": [None, 1, 0],
            "installation_id": [None, 2],
            "private_key_file": FILES,
            "base_url": URLS,
            "path": ["", "a/b", "../x"],
        },
    ),
    ("connectors", "email"): (
        {"host": "localhost", "from_address": "pmhub@example.com"},
        {
            "port": [None, 25, 0, 70000],
            "security": ["starttls", "tls", "none", "ssl"],
            "username": [None, "u"],
            "password": [None, "p"],
            "ca_bundle": FILES,
            "from_address": ["pmhub@example.com", "pmhub"],
        },
    ),
}


@st.composite
def sections(draw: st.DrawFn) -> tuple[tuple[str, str], dict[str, Any]]:
    where = draw(st.sampled_from(sorted(SECTIONS)))
    minimum, choices = SECTIONS[where]
    section = dict(minimum)
    for key in draw(st.lists(st.sampled_from(sorted(choices)), max_size=4, unique=True)):
        section[key] = draw(st.sampled_from(choices[key]))
    return where, section


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory, loopback_tls: LoopbackTls) -> Path:
    directory = tmp_path_factory.mktemp("drawn")
    shutil.copy(loopback_tls.ca_pem, directory / "ca.pem")
    shutil.copy(FIXTURES / "secrets" / "google-service-account.json", directory / "sa.json")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (directory / "app.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (directory / "not-a-pem.txt").write_text("certainly not a certificate\n")
    (directory / "empty.json").write_text("{}\n")
    return directory


async def start_and_stop(path: Path) -> None:
    async with running_daemon(path, run_worker=False) as daemon:
        response = await daemon.client.get("/healthz")
        assert response.status == 200


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(drawn=sections())
def test_whatever_check_accepts_serve_starts_with(
    config_dir: Path, drawn: tuple[tuple[str, str], dict[str, Any]]
) -> None:
    (part, name), section = drawn
    document = {
        "server": {"port": 0},
        "store": {"url": f"sqlite+aiosqlite:///{config_dir}/pmhub.db"},
        part: {name: section},
    }
    path = config_dir / "pmhub.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    problems = refusal(path)
    event("refused" if problems else "accepted")
    if problems:
        assert all(POSITIONED.match(problem) for problem in problems), problems
    else:
        asyncio.run(start_and_stop(path))


def refusal(path: Path) -> list[str]:
    """What `pmhub check` says is wrong with the file (nothing: it is accepted)."""
    try:
        load_settings(path, env={})
    except ConfigError as refused:
        return [str(problem) for problem in refused.problems] or ["(refused, but said nothing)"]
    return []
