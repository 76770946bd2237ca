"""Jira's failures, over the wire, as `hub.errors`: one request each (the package's
retries are off), Jira's own words in the reason, and never the token."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from connectors.common.fakeserver import start_fake
from connectors.jira import JiraConfig, JiraConnector
from connectors.jira.fake import BULK, ISSUE, ISSUE_ONE, SEARCH_JQL, FakeJira
from hub.errors import AuthFailed, ConnectorError, Permanent, RateLimited, Transient
from tests.connectors.jira.conftest import ConnectorFactory, followup, settings_for
from tests.support.tls import LoopbackTls


async def test_bad_priority_is_permanent_naming_the_field(
    connector: JiraConnector, fake: FakeJira
) -> None:
    with pytest.raises(Permanent) as caught:
        await connector.create(followup(priority_name="P9"))
    assert caught.value.reason == (
        "Jira POST issue: HTTP 400: priority: The priority selected is invalid."
    )
    assert fake.issues == {}


async def test_label_with_a_space_is_permanent_naming_the_label(connector: JiraConnector) -> None:
    with pytest.raises(Permanent, match=r"labels: The label 'sev 1' contains spaces"):
        await connector.create(followup(labels=("sev 1",)))


async def test_bad_project_and_issue_type_are_permanent(
    make_connector: ConnectorFactory,
) -> None:
    with pytest.raises(Permanent, match=r"project: valid project is required"):
        await make_connector(project="NOPE").create(followup())
    with pytest.raises(Permanent, match=r"issuetype: The issue type selected is invalid"):
        await make_connector(issue_type="Story").create(followup())


async def test_unknown_issue_is_permanent(connector: JiraConnector) -> None:
    with pytest.raises(Permanent, match=r"HTTP 404: Issue does not exist"):
        await connector.get("OPS-999")
    with pytest.raises(Permanent, match=r"HTTP 404"):
        await connector.transition_to_done("OPS-999")


async def test_429_is_rate_limited_with_retry_after_and_not_retried(
    connector: JiraConnector, fake: FakeJira
) -> None:
    fake.rate_limit(retry_after=7, route=ISSUE)

    with pytest.raises(RateLimited) as caught:
        await connector.create(followup())

    assert caught.value.retry_after == 7
    assert fake.count("POST", ISSUE) == 1  # the package did not sleep and retry


async def test_429_without_retry_after(connector: JiraConnector, fake: FakeJira) -> None:
    fake.rate_limit(retry_after=None, route=SEARCH_JQL)
    with pytest.raises(RateLimited) as caught:
        await connector.find_by_marker("pm:x")
    assert caught.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_is_transient_and_not_retried(
    connector: JiraConnector, fake: FakeJira, status: int
) -> None:
    fake.fail(status, route=BULK)

    with pytest.raises(Transient) as caught:
        await connector.create_many([followup(1), followup(2)])

    assert not isinstance(caught.value, RateLimited)
    assert f"HTTP {status}" in caught.value.message
    assert fake.count("POST", BULK) == 1


async def test_conflict_is_transient(connector: JiraConnector, fake: FakeJira) -> None:
    await connector.create(followup())
    fake.fail(409, route=ISSUE_ONE)
    with pytest.raises(Transient):
        await connector.get("OPS-1")


async def test_a_hanging_jira_times_out_as_transient(
    make_connector: ConnectorFactory, fake: FakeJira
) -> None:
    connector = make_connector(timeout_seconds=0.3)
    fake.hang(route=ISSUE_ONE)
    with pytest.raises(Transient, match="ReadTimeout"):
        await connector.get("OPS-1")


async def test_latency_within_the_timeout_is_fine(
    make_connector: ConnectorFactory, fake: FakeJira
) -> None:
    fake.latency = 0.1
    assert (await make_connector(timeout_seconds=2).create(followup())).key == "OPS-1"


async def test_nobody_listening_is_transient(fake: FakeJira) -> None:
    config = JiraConfig.model_validate(settings_for(fake, "http://127.0.0.1:9", timeout_seconds=1))
    connector = JiraConnector.from_config(config)
    try:
        with pytest.raises(Transient, match="ConnectionError"):
            await connector.get("OPS-1")
    finally:
        await connector.close()


async def test_wrong_token_is_auth_failed(make_connector: ConnectorFactory) -> None:
    with pytest.raises(AuthFailed, match="HTTP 401"):
        await make_connector(api_token=SecretStr("wrong")).create(followup())


async def test_forbidden_is_permanent(connector: JiraConnector, fake: FakeJira) -> None:
    fake.fail(403, route=ISSUE)
    with pytest.raises(Permanent, match="lacks a permission"):
        await connector.create(followup())


async def test_the_token_never_reaches_logs_or_errors(
    make_connector: ConnectorFactory, fake: FakeJira, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    connector = make_connector()
    wrong = make_connector(api_token=SecretStr("wrong-secret-token"))
    errors: list[ConnectorError] = []
    fake.fail(500, route=ISSUE)
    fake.drop_after_commit(route=BULK)
    fake.rate_limit(route=SEARCH_JQL)
    for call in (
        connector.create(followup(1)),
        connector.create_many([followup(2)]),
        connector.find_by_marker("pm:x"),
        connector.get("OPS-404"),
        wrong.create(followup(3)),
    ):
        with pytest.raises(ConnectorError) as caught:
            await call
        errors.append(caught.value)

    everything = caplog.text + "\n".join(f"{e!r} {e.message}" for e in errors)
    for secret in (fake.api_token, "wrong-secret-token"):
        assert secret not in everything
    assert "Authorization" not in everything


async def test_a_whole_bulk_call_refused_is_permanent(
    connector: JiraConnector, fake: FakeJira
) -> None:
    # A 400 without per-item errors (not the bulk answer's shape): nothing was filed.
    fake.fail(400, route=BULK)
    with pytest.raises(Permanent, match="unexpected answer shape"):
        await connector.create_many([followup(1), followup(2)])
    assert fake.issues == {}


async def test_verified_tls_with_a_ca_bundle(fake: FakeJira, loopback_tls: LoopbackTls) -> None:
    runner, url = await start_fake(fake.make_app(), ssl_context=loopback_tls.server_context)
    trusted = JiraConnector.from_config(
        JiraConfig.model_validate(settings_for(fake, url, ca_bundle=loopback_tls.ca_pem))
    )
    untrusted = JiraConnector.from_config(JiraConfig.model_validate(settings_for(fake, url)))
    try:
        assert (await trusted.create(followup())).key == "OPS-1"
        with pytest.raises(Transient, match="SSLError"):
            await untrusted.get("OPS-1")
    finally:
        await trusted.close()
        await untrusted.close()
        await runner.cleanup()
