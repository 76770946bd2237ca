"""What `pmhub sign` and the sandbox sign is accepted by the verifiers, and only that."""

from __future__ import annotations

import base64
import itertools
import shlex
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.intake.signing import signed_headers
from hub.intake.verifiers import (
    IncidentIoVerifier,
    IntakeRejection,
    JiraVerifier,
    PagerDutyVerifier,
    SlackVerifier,
    Verifier,
)

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
SVIX = "whsec_" + base64.b64encode(b"incident-io-signing-key-32-bytes").decode()
JSON_BODY = b'{"event": {"id": "e1", "event_type": "incident.triggered", "data": {"id": "P1"}}}'
FORM_BODY = b"command=%2Fpostmortem&text=help&user_id=U1&channel_id=C1"


def _verifier(source: str, secret: str) -> Verifier:
    if source == "pagerduty":
        return PagerDutyVerifier([secret])
    if source == "incidentio":
        return IncidentIoVerifier([secret])
    if source == "jira":
        return JiraVerifier(secret)
    return SlackVerifier(source, secret)


@pytest.mark.parametrize(
    ("source", "secret", "body"),
    [
        ("pagerduty", "pd-secret-123456", JSON_BODY),
        ("incidentio", SVIX, b'{"event_type": "public_incident.incident_created_v2"}'),
        ("slack/commands", "slack-secret-123456", FORM_BODY),
        ("jira", "jira-secret-123456", b'{"webhookEvent": "jira:issue_updated"}'),
    ],
)
def test_signed_deliveries_verify_and_a_changed_body_does_not(
    source: str, secret: str, body: bytes
) -> None:
    headers = signed_headers(source, secret, body, NOW)
    verifier = _verifier(source, secret)
    assert verifier.verify(headers, body, NOW).delivery_id
    with pytest.raises(IntakeRejection) as refused:
        verifier.verify(headers, body + b" ", NOW)
    assert refused.value.status == 401


def test_pmhub_sign_prints_a_curl_for_the_configured_secret(tmp_path: Path) -> None:
    config = tmp_path / "pmhub.yaml"
    config.write_text(
        "server: {host: 127.0.0.1, port: 8080}\n"
        "sources:\n  pagerduty:\n    webhook_secrets: [pd-secret-123456]\n"
    )
    payload = tmp_path / "event.json"
    payload.write_bytes(JSON_BODY)
    result = CliRunner().invoke(main, ["sign", "--config", str(config), "pagerduty", str(payload)])
    assert result.exit_code == 0, result.output
    words = shlex.split(result.output)
    assert words[:5] == ["curl", "-sS", "-X", "POST", "http://127.0.0.1:8080/webhooks/pagerduty"]
    headers = dict(word.split(": ", 1) for flag, word in itertools.pairwise(words) if flag == "-H")
    PagerDutyVerifier(["pd-secret-123456"]).verify(headers, JSON_BODY, datetime.now(UTC))
    assert words[-2:] == ["--data-binary", f"@{payload}"]


def test_pmhub_sign_refuses_an_unconfigured_source(tmp_path: Path) -> None:
    config = tmp_path / "pmhub.yaml"
    config.write_text("server: {port: 8080}\n")
    payload = tmp_path / "event.json"
    payload.write_bytes(JSON_BODY)
    result = CliRunner().invoke(main, ["sign", "--config", str(config), "jira", str(payload)])
    assert result.exit_code == 1
    assert "sources.jira is not configured" in result.output
