"""Header bytes that are not UTF-8, as aiohttp hands them over (surrogate escapes).

Each verifier answers them as it answers any malformed header: 401 when the header is
part of what proves the sender, 400 when a proven sender's delivery id cannot be stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from hub.intake.verifiers import (
    IncidentIoVerifier,
    IntakeRejection,
    JiraVerifier,
    PagerDutyVerifier,
    SlackVerifier,
    Verifier,
)
from tests.intake.helpers import NOW, jira_headers, pd_signature, slack_headers, svix_headers

# What aiohttp's parser makes of the byte 0xE9 in a header value.
NOT_UTF8 = b"\xe9".decode("utf-8", "surrogateescape")
PD_SECRET, IO_SECRET = "pd-secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SLACK_SECRET, JIRA_SECRET = "slack-secret", "jira-secret"
JSON_BODY = json.dumps({"event": {"id": "E1", "event_type": "incident.triggered"}}).encode()
FORM_BODY = b"user_id=U1&command=%2Fpostmortem&text=help"


@dataclass(frozen=True)
class Case:
    name: str
    verifier: Verifier
    body: bytes
    headers: dict[str, str]
    header: str
    status: int
    code: str


def _with(headers: dict[str, str], name: str, value: str) -> dict[str, str]:
    return {**headers, name: value}


CASES = [
    Case(
        "pagerduty signature",
        PagerDutyVerifier([PD_SECRET]),
        JSON_BODY,
        {"X-PagerDuty-Signature": pd_signature(PD_SECRET, JSON_BODY)},
        "X-PagerDuty-Signature",
        401,
        "malformed_signature",
    ),
    Case(
        "pagerduty delivery id",
        PagerDutyVerifier([PD_SECRET]),
        JSON_BODY,
        {"X-PagerDuty-Signature": pd_signature(PD_SECRET, JSON_BODY)},
        "X-Webhook-Id",
        400,
        "malformed_body",
    ),
    Case(
        "incident.io webhook-id",
        IncidentIoVerifier([IO_SECRET]),
        JSON_BODY,
        svix_headers(IO_SECRET, JSON_BODY),
        "webhook-id",
        401,
        "malformed_signature",
    ),
    Case(
        "slack timestamp",
        SlackVerifier("slack/commands", SLACK_SECRET),
        FORM_BODY,
        slack_headers(SLACK_SECRET, FORM_BODY),
        "X-Slack-Request-Timestamp",
        401,
        "malformed_signature",
    ),
    Case(
        "jira signature",
        JiraVerifier(JIRA_SECRET),
        JSON_BODY,
        jira_headers(JIRA_SECRET, JSON_BODY),
        "X-Hub-Signature",
        401,
        "malformed_signature",
    ),
    Case(
        "jira delivery id",
        JiraVerifier(JIRA_SECRET),
        JSON_BODY,
        jira_headers(JIRA_SECRET, JSON_BODY),
        "X-Atlassian-Webhook-Identifier",
        400,
        "malformed_body",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_header_bytes_that_are_not_utf8_are_refused_not_raised(case: Case) -> None:
    # The unchanged headers are authentic: only the one byte makes the difference.
    assert case.verifier.verify(case.headers, case.body, NOW).delivery_id
    with pytest.raises(IntakeRejection) as caught:
        case.verifier.verify(_with(case.headers, case.header, "v1=" + NOT_UTF8), case.body, NOW)
    assert (caught.value.status, caught.value.code) == (case.status, case.code)
    assert "UTF-8" in caught.value.message


def test_kept_headers_that_are_not_utf8_are_stored_replaced() -> None:
    headers = {
        "X-PagerDuty-Signature": pd_signature(PD_SECRET, JSON_BODY),
        "User-Agent": "PagerDuty" + NOT_UTF8,
    }
    delivery = PagerDutyVerifier([PD_SECRET]).verify(headers, JSON_BODY, NOW)
    assert delivery.kept_headers["user-agent"] == "PagerDuty\ufffd"
    json.dumps(delivery.kept_headers).encode()  # storable as it is
