"""Signature vectors for every source: valid, tampered, wrong secret, rotation, freshness, shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from pydantic import SecretStr

from hub.config import SourcesSettings
from hub.intake.verifiers import (
    IncidentIoVerifier,
    IntakeRejection,
    JiraVerifier,
    PagerDutyVerifier,
    SlackVerifier,
    build_verifiers,
)
from tests.intake.helpers import (
    IO_EXAMPLES,
    NOW,
    PD_EXAMPLES,
    jira_headers,
    pd_signature,
    slack_headers,
    svix_headers,
)

PD_SECRET, PD_OLD = "pd-secret-new", "pd-secret-old"
IO_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
IO_OTHER = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24="
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
JIRA_SECRET = "jira-secret"

PD_BODY = (PD_EXAMPLES / "envelope_incident.priority_updated.json").read_bytes()
IO_BODY = (IO_EXAMPLES / "public_incident.incident_created_v2.json").read_bytes()


def rejected(call: object, status: int, code: str) -> IntakeRejection:
    assert callable(call)
    with pytest.raises(IntakeRejection) as caught:
        call()
    assert (caught.value.status, caught.value.code) == (status, code)
    assert len(caught.value.message) < 80
    return caught.value


# --- PagerDuty -------------------------------------------------------------------------


def test_pagerduty_valid_delivery_uses_webhook_id_and_event_type() -> None:
    headers = {
        "X-PagerDuty-Signature": pd_signature(PD_SECRET, PD_BODY),
        "X-Webhook-Id": "wh-1",
        "Authorization": "Bearer nope",
        "Content-Type": "application/json",
    }
    delivery = PagerDutyVerifier([PD_SECRET]).verify(headers, PD_BODY, NOW)
    assert delivery.delivery_id == "wh-1"
    assert delivery.event_type == "incident.priority_updated"
    assert delivery.ack_status == 202
    assert delivery.ack_body is None
    assert "authorization" not in delivery.kept_headers
    assert delivery.kept_headers["x-webhook-id"] == "wh-1"


def test_pagerduty_falls_back_to_event_id() -> None:
    headers = {"x-pagerduty-signature": pd_signature(PD_SECRET, PD_BODY)}
    delivery = PagerDutyVerifier([PD_SECRET]).verify(headers, PD_BODY, NOW)
    assert delivery.delivery_id == "5ac64822-4adc-4fda-ade0-410becf0de4f"


def test_pagerduty_accepts_aiohttp_headers() -> None:
    raw = CIMultiDict([("X-PAGERDUTY-SIGNATURE", pd_signature(PD_SECRET, PD_BODY))])
    delivery = PagerDutyVerifier([PD_SECRET]).verify(CIMultiDictProxy(raw), PD_BODY, NOW)
    assert delivery.event_type == "incident.priority_updated"


def test_pagerduty_rotation_second_secret_matches() -> None:
    headers = {"X-PagerDuty-Signature": pd_signature(PD_OLD, PD_BODY)}
    delivery = PagerDutyVerifier([PD_SECRET, PD_OLD]).verify(headers, PD_BODY, NOW)
    assert delivery.event_type == "incident.priority_updated"


def test_pagerduty_several_v1_values_one_matching() -> None:
    header = ",".join(
        [pd_signature("unrelated", PD_BODY), " v2=abc", pd_signature(PD_SECRET, PD_BODY).upper()]
    ).replace("V1=", "v1=")
    delivery = PagerDutyVerifier([PD_SECRET]).verify(
        {"X-PagerDuty-Signature": header}, PD_BODY, NOW
    )
    assert delivery.delivery_id


@pytest.mark.parametrize(
    ("header", "body", "code"),
    [
        (None, PD_BODY, "missing_signature"),
        ("sha256=abc", PD_BODY, "malformed_signature"),
        ("", PD_BODY, "malformed_signature"),
        (pd_signature("wrong", PD_BODY), PD_BODY, "bad_signature"),
        (pd_signature(PD_SECRET, PD_BODY), PD_BODY + b" ", "bad_signature"),
        (pd_signature(PD_SECRET, PD_BODY), PD_BODY.replace(b"P1", b"P5"), "bad_signature"),
    ],
)
def test_pagerduty_rejections(header: str | None, body: bytes, code: str) -> None:
    headers = {} if header is None else {"X-PagerDuty-Signature": header}
    rejected(lambda: PagerDutyVerifier([PD_SECRET]).verify(headers, body, NOW), 401, code)


@pytest.mark.parametrize(
    ("body", "words"),
    [(b"{not json", "JSON"), (b"[1, 2]", "object"), (b'{"event": 3}', "event")],
)
def test_pagerduty_malformed_body_after_valid_signature(body: bytes, words: str) -> None:
    headers = {"X-PagerDuty-Signature": pd_signature(PD_SECRET, body)}
    error = rejected(
        lambda: PagerDutyVerifier([PD_SECRET]).verify(headers, body, NOW), 400, "malformed_body"
    )
    assert words in error.message


def test_pagerduty_unknown_event_type_is_accepted() -> None:
    body = json.dumps({"event": {"id": "e", "event_type": "pagey.ping", "data": {}}}).encode()
    headers = {"X-PagerDuty-Signature": pd_signature(PD_SECRET, body)}
    assert PagerDutyVerifier([PD_SECRET]).verify(headers, body, NOW).event_type == "pagey.ping"


def test_verifiers_need_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        PagerDutyVerifier([""])
    with pytest.raises(ValueError, match="whsec"):
        IncidentIoVerifier(["whsec_***not base64***"])


# --- incident.io (Svix) ----------------------------------------------------------------


def test_incidentio_svix_published_vector() -> None:
    # The example in Svix's and incident.io's documentation.
    body = b'{"test": 2432232314}'
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    now = datetime.fromtimestamp(1614265330 + 60, tz=UTC)
    delivery = IncidentIoVerifier([IO_SECRET]).verify(headers, body, now)
    assert delivery.delivery_id == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    assert delivery.event_type is None


def test_incidentio_valid_example() -> None:
    headers = svix_headers(IO_SECRET, IO_BODY, msg_id="msg_2")
    delivery = IncidentIoVerifier([IO_SECRET]).verify(headers, IO_BODY, NOW)
    assert (delivery.delivery_id, delivery.event_type) == (
        "msg_2",
        "public_incident.incident_created_v2",
    )
    assert set(delivery.kept_headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}


def test_incidentio_rotation_and_several_signatures() -> None:
    headers = svix_headers(IO_OTHER, IO_BODY)
    headers["webhook-signature"] = "v1,AAAA " + headers["webhook-signature"] + " v1a,xyz"
    delivery = IncidentIoVerifier([IO_SECRET, IO_OTHER]).verify(headers, IO_BODY, NOW)
    assert delivery.event_type == "public_incident.incident_created_v2"


@pytest.mark.parametrize(
    ("shift", "code"),
    [
        (timedelta(minutes=-6), "stale_timestamp"),
        (timedelta(minutes=6), "stale_timestamp"),
    ],
)
def test_incidentio_stale_and_future_timestamps(shift: timedelta, code: str) -> None:
    ts = str(int((NOW + shift).timestamp()))
    headers = svix_headers(IO_SECRET, IO_BODY, ts=ts)
    rejected(lambda: IncidentIoVerifier([IO_SECRET]).verify(headers, IO_BODY, NOW), 401, code)


def test_incidentio_edge_of_window_is_accepted() -> None:
    ts = str(int((NOW - timedelta(minutes=5)).timestamp()))
    headers = svix_headers(IO_SECRET, IO_BODY, ts=ts)
    assert IncidentIoVerifier([IO_SECRET]).verify(headers, IO_BODY, NOW).delivery_id


def _io_variants() -> list[tuple[dict[str, str], bytes, str]]:
    good = svix_headers(IO_SECRET, IO_BODY)
    no_sig = {k: v for k, v in good.items() if k != "webhook-signature"}
    no_id = {k: v for k, v in good.items() if k != "webhook-id"}
    return [
        (no_sig, IO_BODY, "missing_signature"),
        (no_id, IO_BODY, "missing_signature"),
        ({**good, "webhook-signature": "v2,abc"}, IO_BODY, "malformed_signature"),
        (svix_headers(IO_OTHER, IO_BODY), IO_BODY, "bad_signature"),
        (good, IO_BODY.replace(b"Minor", b"Major"), "bad_signature"),
        ({**good, "webhook-id": "msg_other"}, IO_BODY, "bad_signature"),
        (svix_headers(IO_SECRET, IO_BODY, ts="soon"), IO_BODY, "malformed_timestamp"),
    ]


@pytest.mark.parametrize(("headers", "body", "code"), _io_variants())
def test_incidentio_rejections(headers: dict[str, str], body: bytes, code: str) -> None:
    rejected(lambda: IncidentIoVerifier([IO_SECRET]).verify(headers, body, NOW), 401, code)


def test_incidentio_malformed_json_after_valid_signature() -> None:
    body = b'{"event_type": '
    headers = svix_headers(IO_SECRET, body)
    rejected(
        lambda: IncidentIoVerifier([IO_SECRET]).verify(headers, body, NOW), 400, "malformed_body"
    )


# --- Slack -----------------------------------------------------------------------------

SLACK_DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)


def test_slack_published_vector_answers_help_at_once() -> None:
    # The example in Slack's "Verifying requests from Slack".
    headers = {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
    now = datetime.fromtimestamp(1531420618, tz=UTC)
    delivery = SlackVerifier("slack/commands", SLACK_SECRET).verify(headers, SLACK_DOC_BODY, now)
    assert delivery.ack_status == 200
    assert delivery.event_type == "/webhook-collect"
    assert delivery.ack_body is not None
    assert delivery.ack_body["response_type"] == "ephemeral"
    assert "/postmortem" in delivery.ack_body["text"]  # empty text: the help


def _command_body(text: str, **extra: str) -> bytes:
    fields = {"command": "/postmortem", "text": text, "user_id": "U1", "user_name": "ann"}
    return urlencode({**fields, **extra}).encode()


def test_slack_command_is_acknowledged_and_id_is_stable() -> None:
    body = _command_body("status PD-12")
    verifier = SlackVerifier("slack/commands", SLACK_SECRET)
    first = verifier.verify(slack_headers(SLACK_SECRET, body), body, NOW)
    again = verifier.verify(slack_headers(SLACK_SECRET, body), body, NOW)
    other_body = _command_body("status PD-13")
    other = verifier.verify(slack_headers(SLACK_SECRET, other_body), other_body, NOW)
    assert first.delivery_id == again.delivery_id != other.delivery_id
    assert first.ack_body == {"response_type": "ephemeral", "text": "On it: `status PD-12`"}


def test_slack_invalid_command_answered_with_the_problem() -> None:
    body = _command_body("frobnicate")
    delivery = SlackVerifier("slack/commands", SLACK_SECRET).verify(
        slack_headers(SLACK_SECRET, body), body, NOW
    )
    assert delivery.ack_body is not None
    assert "frobnicate" in delivery.ack_body["text"]


def test_slack_interaction_acknowledged_with_200() -> None:
    payload = {"type": "block_actions", "actions": [{"action_id": "pm_accept", "value": "pm-1"}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    delivery = SlackVerifier("slack/interactions", SLACK_SECRET).verify(
        slack_headers(SLACK_SECRET, body), body, NOW
    )
    assert (delivery.ack_status, delivery.event_type) == (200, "block_actions")


@pytest.mark.parametrize(
    ("shift", "code"),
    [(timedelta(minutes=-10), "stale_timestamp"), (timedelta(minutes=10), "stale_timestamp")],
)
def test_slack_stale_and_future(shift: timedelta, code: str) -> None:
    body = _command_body("help")
    headers = slack_headers(SLACK_SECRET, body, ts=str(int((NOW + shift).timestamp())))
    verifier = SlackVerifier("slack/commands", SLACK_SECRET)
    rejected(lambda: verifier.verify(headers, body, NOW), 401, code)


def _slack_variants() -> list[tuple[dict[str, str], bytes, str]]:
    body = _command_body("help")
    good = slack_headers(SLACK_SECRET, body)
    return [
        (
            {"X-Slack-Request-Timestamp": good["X-Slack-Request-Timestamp"]},
            body,
            "missing_signature",
        ),
        ({"X-Slack-Signature": good["X-Slack-Signature"]}, body, "missing_signature"),
        ({**good, "X-Slack-Signature": "v1=abc"}, body, "malformed_signature"),
        (slack_headers("other-secret", body), body, "bad_signature"),
        (good, body + b"&x=1", "bad_signature"),
    ]


@pytest.mark.parametrize(("headers", "body", "code"), _slack_variants())
def test_slack_rejections(headers: dict[str, str], body: bytes, code: str) -> None:
    verifier = SlackVerifier("slack/commands", SLACK_SECRET)
    rejected(lambda: verifier.verify(headers, body, NOW), 401, code)


@pytest.mark.parametrize(
    ("source", "body"),
    [
        ("slack/commands", b"\xff\xfe"),
        ("slack/commands", b"text=hello"),  # no user_id
        ("slack/interactions", b"nopayload=1"),
        ("slack/interactions", b"payload=%7Bbroken"),
        ("slack/interactions", b"payload=%5B1%5D"),
    ],
)
def test_slack_malformed_form_after_valid_signature(source: str, body: bytes) -> None:
    verifier = SlackVerifier(source, SLACK_SECRET)
    headers = slack_headers(SLACK_SECRET, body)
    rejected(lambda: verifier.verify(headers, body, NOW), 400, "malformed_body")


# --- Jira ------------------------------------------------------------------------------

JIRA_BODY = json.dumps({"webhookEvent": "jira:issue_updated", "timestamp": 1714557600000}).encode()


def test_jira_valid_with_identifier() -> None:
    delivery = JiraVerifier(JIRA_SECRET).verify(
        jira_headers(JIRA_SECRET, JIRA_BODY), JIRA_BODY, NOW
    )
    assert (delivery.delivery_id, delivery.event_type) == ("abc-1", "jira:issue_updated")


def test_jira_without_identifier_uses_body_hash() -> None:
    headers = jira_headers(JIRA_SECRET, JIRA_BODY, identifier=None)
    first = JiraVerifier(JIRA_SECRET).verify(headers, JIRA_BODY, NOW)
    assert first.delivery_id.startswith("sha256:")
    assert JiraVerifier(JIRA_SECRET).verify(headers, JIRA_BODY, NOW) == first


@pytest.mark.parametrize(
    ("headers", "body", "code"),
    [
        ({}, JIRA_BODY, "missing_signature"),
        ({"X-Hub-Signature": "sha1=abc"}, JIRA_BODY, "malformed_signature"),
        ({"X-Hub-Signature": "sha256="}, JIRA_BODY, "malformed_signature"),
        (jira_headers("wrong", JIRA_BODY), JIRA_BODY, "bad_signature"),
        (jira_headers(JIRA_SECRET, JIRA_BODY), JIRA_BODY[:-1] + b" }", "bad_signature"),
    ],
)
def test_jira_rejections(headers: dict[str, str], body: bytes, code: str) -> None:
    rejected(lambda: JiraVerifier(JIRA_SECRET).verify(headers, body, NOW), 401, code)


def test_jira_malformed_json_after_valid_signature() -> None:
    body = b"not json"
    headers = jira_headers(JIRA_SECRET, body)
    rejected(lambda: JiraVerifier(JIRA_SECRET).verify(headers, body, NOW), 400, "malformed_body")


# --- wiring ----------------------------------------------------------------------------


def test_build_verifiers_only_configured_sources() -> None:
    sources = SimpleNamespace(
        pagerduty=SimpleNamespace(webhook_secrets=[SecretStr(PD_SECRET), SecretStr(PD_OLD)]),
        incidentio=None,
        slack=SimpleNamespace(signing_secret=SecretStr(SLACK_SECRET)),
        jira=None,
    )
    verifiers = build_verifiers(sources)
    assert sorted(verifiers) == ["pagerduty", "slack/commands", "slack/interactions"]
    assert verifiers["slack/commands"].content_types == {"application/x-www-form-urlencoded"}
    assert verifiers["pagerduty"].content_types == {"application/json"}
    headers = {"X-PagerDuty-Signature": pd_signature(PD_OLD, PD_BODY)}
    assert verifiers["pagerduty"].verify(headers, PD_BODY, NOW).delivery_id


def test_build_verifiers_from_real_settings() -> None:
    sources = SourcesSettings.model_validate(
        {
            "incidentio": {"webhook_secrets": [IO_SECRET]},
            "jira": {"webhook_secret": JIRA_SECRET},
        }
    )
    verifiers = build_verifiers(sources)
    assert sorted(verifiers) == ["incidentio", "jira"]
    headers = jira_headers(JIRA_SECRET, JIRA_BODY)
    assert verifiers["jira"].verify(headers, JIRA_BODY, NOW).event_type == "jira:issue_updated"
