"""deploy/compose.yaml against the Compose Specification's JSON Schema, and the production
configuration it mounts checked by `pmhub check` with the variables of the env example."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.manifests import (
    DEPLOY,
    ENV_EXAMPLE,
    PRODUCTION_CONFIG,
    config_variables,
    read_env_file,
)

BIN = Path(sys.executable).parent
COMPOSE = DEPLOY / "compose.yaml"
# What compose itself sets for pmhub (the rest comes from the env file).
SET_BY_COMPOSE = {"PMHUB_DATABASE_URL", "GOOGLE_CREDENTIALS_FILE"}


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())  # merges the x-pmhub anchor
    return document


def test_the_compose_file_matches_the_compose_specification() -> None:
    # The schema ships inside check-jsonschema (vendor.compose-spec): no network needed.
    result = subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            "-o",
            "JSON",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["status"] == "ok"


def test_postgres_then_one_migration_then_two_replicas() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "migrate", "pmhub"}
    migrate, pmhub = services["migrate"], services["pmhub"]
    assert migrate["command"] == ["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert pmhub["deploy"]["replicas"] == 2
    assert pmhub["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert pmhub["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert "command" not in pmhub  # the image's own: pmhub serve
    assert "healthcheck" in services["postgres"]
    for service in (migrate, pmhub):
        assert service["build"]["dockerfile"] == "deploy/docker/Dockerfile"
        assert service["env_file"] == [{"path": "pmhub.env", "required": True}]
        assert service["volumes"] == ["./pmhub.production.yaml:/etc/pmhub/pmhub.yaml:ro"]
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
    # The admin listener is published on loopback only.
    admin_ports = [port for port in pmhub["ports"] if port.endswith(":9090")]
    assert admin_ports == ["127.0.0.1:9090-9091:9090"]


def test_the_env_example_names_every_variable_the_configuration_needs() -> None:
    required, optional = config_variables()
    example = read_env_file(ENV_EXAMPLE)
    missing = required - SET_BY_COMPOSE - example.keys()
    assert missing == set()
    # And nothing the configuration does not read, but PostgreSQL's password.
    assert example.keys() - required - optional == {"POSTGRES_PASSWORD"}
    environment = _compose()["services"]["pmhub"]["environment"]
    assert set(environment) == SET_BY_COMPOSE
    assert "${POSTGRES_PASSWORD:?" in environment["PMHUB_DATABASE_URL"]


def test_pmhub_check_accepts_the_production_configuration(tmp_path: Path) -> None:
    required, _ = config_variables()
    # A complete (throwaway) key: `check` reads it the way the daemon will.
    key_file = Path(__file__).parents[1] / "fixtures/config/secrets/google-service-account.json"
    dummy = {name: f"dummy-{name.lower()}-0123456789" for name in required}
    dummy |= {
        "PMHUB_DATABASE_URL": "postgresql+asyncpg://pmhub:dummy@postgres:5432/pmhub",
        "GOOGLE_CREDENTIALS_FILE": str(key_file),
        "INCIDENTIO_WEBHOOK_SECRET": "whsec_ZHVtbXk=",
        "SLACK_INCIDENTS_CHANNEL": "C0123ABCD",
        "JIRA_URL": "https://example.atlassian.net",
        "JIRA_EMAIL": "pmhub@example.com",
        "PAGERDUTY_FROM_EMAIL": "pmhub@example.com",
    }
    result = subprocess.run(
        [str(BIN / "pmhub"), "check", "--config", str(PRODUCTION_CONFIG)],
        env=dummy,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{PRODUCTION_CONFIG}: OK (1 policy file(s),")


def test_the_setup_guide_says_where_each_variable_comes_from() -> None:
    guide = (DEPLOY.parent / "docs" / "setup.md").read_text()
    required, _ = config_variables()
    names = read_env_file(ENV_EXAMPLE).keys() | required
    assert sorted(name for name in names if f"`{name}`" not in guide) == []
