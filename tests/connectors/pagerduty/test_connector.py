"""The PagerDuty connector against its fake, over loopback TLS verified with a test CA."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from connectors.common.retry_after import parse_retry_after
from connectors.pagerduty import PagerDutyConfig, PagerDutyConnector
from connectors.pagerduty.client import PagerDutyClient
from connectors.pagerduty.fake import FakePagerDuty
from hub.errors import AuthFailed, Permanent, RateLimited, Transient
from tests.connectors.pagerduty.conftest import (
    ALICE,
    BOB,
    CAROL,
    INCIDENT,
    POLICY,
    ConnectorFactory,
)
from tests.support.tls import LoopbackTls, make_loopback_tls

# -- enrichment ---------------------------------------------------------------------


async def test_incident_comes_with_people_expanded(
    connector: PagerDutyConnector, fake: FakePagerDuty
) -> None:
    incident = await connector.get_incident(INCIDENT)

    assert incident["id"] == INCIDENT
    assert incident["title"] == "A little bump in the road"
    assert incident["escalation_policy"]["id"] == POLICY
    # include[]=assignees/acknowledgers turns references into users with emails.
    assert incident["assignments"][0]["assignee"]["email"] == "alice@example.com"
    assert incident["acknowledgements"][0]["acknowledger"]["email"] == "alice@example.com"
    assert incident["conference_bridge"]["conference_url"] == "https://example.com/bridge"
    assert incident["first_trigger_log_entry"]["agent"]["id"] == CAROL
    assert fake.calls[("GET", f"/incidents/{INCIDENT}")] == 1


async def test_incident_number_works_as_id(connector: PagerDutyConnector) -> None:
    assert (await connector.get_incident("2"))["id"] == INCIDENT


async def test_log_entries_every_page_oldest_first(
    connector: PagerDutyConnector, fake: FakePagerDuty
) -> None:
    fake.max_page_size = 2  # five entries: three pages

    entries = await connector.list_log_entries(INCIDENT)

    assert [entry["type"] for entry in entries] == [
        "trigger_log_entry",
        "assign_log_entry",
        "notify_log_entry",
        "acknowledge_log_entry",
        "annotate_log_entry",
    ]
    assert entries[0]["agent"]["id"] == CAROL
    assert entries[0]["channel"]["type"] == "web_trigger"
    assert fake.calls[("GET", f"/incidents/{INCIDENT}/log_entries")] == 3


async def test_user_is_fetched_once_then_cached(
    connector: PagerDutyConnector, fake: FakePagerDuty
) -> None:
    first = await connector.get_user(BOB)
    second = await connector.get_user(BOB)

    assert first["email"] == second["email"] == "bob@example.com"
    assert fake.calls[("GET", f"/users/{BOB}")] == 1


async def test_cached_user_expires(
    fake: FakePagerDuty, base_url: str, loopback_tls: LoopbackTls
) -> None:
    now = [1000.0]
    config = PagerDutyConfig(
        api_token=SecretStr(fake.token),
        base_url=base_url,
        ca_bundle=loopback_tls.ca_pem,
    )
    connector = PagerDutyConnector(
        PagerDutyClient(config), user_cache_seconds=300, clock=lambda: now[0]
    )
    try:
        await connector.get_user(BOB)
        now[0] += 299
        await connector.get_user(BOB)
        assert fake.calls[("GET", f"/users/{BOB}")] == 1
        now[0] += 2
        await connector.get_user(BOB)
        assert fake.calls[("GET", f"/users/{BOB}")] == 2
    finally:
        await connector.close()


async def test_primary_oncall_is_the_level_one_user(
    connector: PagerDutyConnector, fake: FakePagerDuty
) -> None:
    fake.max_page_size = 1  # the level-1 entry is on the second page

    primary = await connector.primary_oncall(POLICY)

    assert primary is not None
    assert primary["id"] == ALICE
    assert primary["type"] == "user_reference"
    sent = next(ex.query for ex in fake.exchanges if ex.path == "/oncalls")
    assert ("escalation_policy_ids[]", POLICY) in sent


async def test_no_primary_oncall(connector: PagerDutyConnector) -> None:
    assert await connector.primary_oncall("PNOBODY") is None


# -- notes --------------------------------------------------------------------------


async def test_add_note_sends_from_and_returns_its_id(
    connector: PagerDutyConnector, fake: FakePagerDuty
) -> None:
    note_id = await connector.add_note(INCIDENT, "Post-mortem due Friday", "bob@example.com")

    [note] = fake.notes[INCIDENT]
    assert note_id == note["id"]
    assert note["content"] == "Post-mortem due Friday"
    assert note["user"]["id"] == BOB
    [exchange] = [ex for ex in fake.exchanges if ex.method == "POST"]
    assert exchange.headers["From"] == "bob@example.com"
    assert exchange.body == {"note": {"content": "Post-mortem due Friday"}}


async def test_add_note_defaults_to_the_configured_sender(
    connector: PagerDutyConnector, fake: FakePagerDuty
) -> None:
    await connector.add_note(INCIDENT, "hello")
    assert fake.notes[INCIDENT][0]["user"]["id"] == CAROL


async def test_add_note_without_any_sender_is_permanent(make_connector: ConnectorFactory) -> None:
    with pytest.raises(Permanent, match="From"):
        await make_connector(from_email=None).add_note(INCIDENT, "hello")


async def test_add_note_from_a_stranger_carries_pagerdutys_reason(
    connector: PagerDutyConnector,
) -> None:
    with pytest.raises(Permanent, match=r"HTTP 400: Invalid Input Provided \(code 2001\): Req"):
        await connector.add_note(INCIDENT, "hello", "stranger@example.com")


async def test_add_note_committed_then_dropped_is_transient(
    connector: PagerDutyConnector, fake: FakePagerDuty
) -> None:
    fake.drop_after_commit(route="/incidents/{id}/notes")

    with pytest.raises(Transient) as caught:
        await connector.add_note(INCIDENT, "hello")

    assert type(caught.value) is Transient
    # The outcome is unknown to the caller, but the note exists: exactly why the
    # note's writer must look before it retries.
    assert len(fake.notes[INCIDENT]) == 1


async def test_list_notes_finds_a_note_whose_answer_was_lost(
    connector: PagerDutyConnector, fake: FakePagerDuty
) -> None:
    fake.drop_after_commit(route="/incidents/{id}/notes")
    with pytest.raises(Transient):
        await connector.add_note(INCIDENT, "hello [pmhub abc]")

    [note] = await connector.list_notes(INCIDENT)

    assert note["content"] == "hello [pmhub abc]"
    assert note["id"] == fake.notes[INCIDENT][0]["id"]


async def test_list_notes_of_an_unknown_incident_is_permanent(
    connector: PagerDutyConnector,
) -> None:
    with pytest.raises(Permanent, match="404"):
        await connector.list_notes("PNOPE00")


# -- error mapping ------------------------------------------------------------------


async def test_wrong_token_is_auth_failed_and_never_echoed(
    make_connector: ConnectorFactory,
) -> None:
    connector = make_connector(api_token=SecretStr("wrong-secret-token"))
    with pytest.raises(AuthFailed, match="Authentication failed") as caught:
        await connector.get_incident(INCIDENT)
    assert "oken" not in str(caught.value).replace("Authentication", "")


async def test_forbidden_is_auth_failed(connector: PagerDutyConnector, fake: FakePagerDuty) -> None:
    fake.fail(403)
    with pytest.raises(AuthFailed):
        await connector.get_incident(INCIDENT)


async def test_unknown_incident_is_permanent_with_vendor_message(
    connector: PagerDutyConnector,
) -> None:
    with pytest.raises(Permanent, match=r"HTTP 404: Not Found \(code 2100\)"):
        await connector.get_incident("PNOPE00")


async def test_rate_limit_carries_retry_after(
    connector: PagerDutyConnector, fake: FakePagerDuty
) -> None:
    fake.rate_limit(retry_after=17)

    with pytest.raises(RateLimited) as caught:
        await connector.get_user(ALICE)

    assert caught.value.retry_after == 17
    # The SDK's own endless 429 loop is off: one request, then the job runner decides.
    assert fake.calls[("GET", f"/users/{ALICE}")] == 1


async def test_server_error_is_transient_and_not_retried_by_the_sdk(
    connector: PagerDutyConnector, fake: FakePagerDuty
) -> None:
    fake.fail(500)
    with pytest.raises(Transient) as caught:
        await connector.get_incident(INCIDENT)
    assert type(caught.value) is Transient
    assert fake.calls[("GET", f"/incidents/{INCIDENT}")] == 1


async def test_timeout_is_transient(make_connector: ConnectorFactory, fake: FakePagerDuty) -> None:
    fake.hang()
    with pytest.raises(Transient, match="Timeout"):
        await make_connector(timeout_seconds=0.3).get_user(ALICE)
    assert fake.calls[("GET", f"/users/{ALICE}")] == 1


async def test_latency_within_timeout_is_fine(
    connector: PagerDutyConnector, fake: FakePagerDuty
) -> None:
    fake.latency = 0.05
    assert (await connector.get_user(ALICE))["id"] == ALICE


async def test_nothing_listening_is_transient(
    loopback_tls: LoopbackTls, unused_tcp_port: int
) -> None:
    config = PagerDutyConfig(
        api_token=SecretStr("x"),
        base_url=f"https://127.0.0.1:{unused_tcp_port}",
        ca_bundle=loopback_tls.ca_pem,
    )
    connector = PagerDutyConnector.from_config(config)
    try:
        with pytest.raises(Transient, match="ConnectError"):
            await connector.get_user(ALICE)
    finally:
        await connector.close()


async def test_certificate_from_another_ca_is_refused(base_url: str, tmp_path: Path) -> None:
    # Proves verification is really on: the fake's certificate is not trusted here.
    stranger = make_loopback_tls(tmp_path)
    config = PagerDutyConfig(api_token=SecretStr("x"), base_url=base_url, ca_bundle=stranger.ca_pem)
    connector = PagerDutyConnector.from_config(config)
    try:
        with pytest.raises(Transient, match="CERTIFICATE_VERIFY_FAILED"):
            await connector.get_user(ALICE)
    finally:
        await connector.close()


# -- small parts --------------------------------------------------------------------


def test_config_refuses_plain_http() -> None:
    with pytest.raises(ValidationError, match="https"):
        PagerDutyConfig(api_token=SecretStr("x"), base_url="http://api.pagerduty.com")


def test_config_defaults() -> None:
    config = PagerDutyConfig(api_token=SecretStr("x"))
    assert config.base_url == "https://api.pagerduty.com"
    assert (config.timeout_seconds, config.user_cache_seconds) == (10, 300)
    assert "x" not in repr(config)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("17", 17.0),
        ("0", 0.0),
        ("Thu, 09 Apr 2020 15:17:27 GMT", 60.0),
        ("Thu, 09 Apr 2020 15:15:27 GMT", 0.0),  # in the past: no wait
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_parsing(header: str | None, seconds: float | None) -> None:
    now = datetime(2020, 4, 9, 15, 16, 27, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == seconds


def test_test_ca_context_verifies(tmp_path: Path) -> None:
    # The helper others reuse hands out verifying client contexts.
    tls = make_loopback_tls(tmp_path)
    context = tls.client_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
