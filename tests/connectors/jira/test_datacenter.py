"""Jira Data Center: bearer PAT, REST v2, wiki-text descriptions, usernames, classic search."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from connectors.jira import JiraConnector
from connectors.jira.fake import ISSUE, FakeJira
from hub.errors import AuthFailed, Transient
from hub.ports import StatusCategory, TicketRef
from tests.connectors.jira.conftest import DOC_URL, INCIDENT_URL, ConnectorFactory, followup, seed


@pytest.fixture
def fake() -> FakeJira:
    return seed(FakeJira(deployment="Server"))


async def test_follow_up_on_data_center(connector: JiraConnector, fake: FakeJira) -> None:
    ref = await connector.create(followup())

    assert ref.key == "OPS-1"
    create = next(e for e in fake.exchanges if e.route == ISSUE)
    assert create.path == "/rest/api/2/issue"
    assert create.headers["Authorization"] == f"Bearer {fake.pat}"
    fields = fake.issue("OPS-1")["fields"]
    assert fields["description"] == (
        f"Follow-up 1 of the checkout outage.\n\nPost-mortem: {DOC_URL}\n\n"
        f"* [Incident PD-2|{INCIDENT_URL}]\n* [Post-mortem document|{DOC_URL}]"
    )
    assert fields["assignee"]["name"] == "alice"  # DC names people by username
    search = next(e for e in fake.exchanges if e.path.endswith("/user/search"))
    assert ("username", "alice@example.com") in search.query


async def test_lost_answer_is_found_by_classic_search(
    connector: JiraConnector, fake: FakeJira
) -> None:
    fake.drop_after_commit(route=ISSUE)
    with pytest.raises(Transient):
        await connector.create(followup())

    ref = await connector.create(followup(), unknown_outcome=True)

    assert ref == TicketRef("OPS-1", ref.url, StatusCategory.TO_DO)
    assert len(fake.issues) == 1
    assert any(e.path == "/rest/api/2/search" for e in fake.exchanges)


async def test_transitions_on_data_center(connector: JiraConnector) -> None:
    ref = await connector.create(followup())
    assert (await connector.transition_to_done(ref.key)).status_category is StatusCategory.DONE
    assert (await connector.reopen(ref.key)).status_category is StatusCategory.TO_DO


async def test_wrong_pat_is_auth_failed(make_connector: ConnectorFactory) -> None:
    with pytest.raises(AuthFailed):
        await make_connector(token=SecretStr("nope")).get("OPS-1")
