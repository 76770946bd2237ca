"""The Jira connector against its fake over loopback: filing, finding again, bulk,
transitions, parent issues."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.jira import JiraConnector
from connectors.jira.fake import BULK, ISSUE, SEARCH_JQL, TRANSITIONS, USER_SEARCH, FakeJira
from connectors.jira.payloads import marker_label
from hub.errors import Permanent, Transient
from hub.ports import StatusCategory, TicketRef
from tests.connectors.jira.conftest import ALICE, DOC_URL, INCIDENT_URL, ConnectorFactory, followup

# -- one follow-up ------------------------------------------------------------------


async def test_follow_up_is_filed_with_labels_priority_and_assignee(
    connector: JiraConnector, fake: FakeJira, base_url: str
) -> None:
    request = followup()

    ref = await connector.create(request)

    assert ref == TicketRef(key="OPS-1", url=f"{base_url}/browse/OPS-1")
    fields = fake.issue("OPS-1")["fields"]
    assert fields["summary"] == "Alert on queue depth (1)"
    assert fields["labels"] == ["postmortem", "sev-1", "2025-01", marker_label(request.marker)]
    assert fields["priority"]["name"] == "High"  # P1 through the default priority map
    assert fields["assignee"]["accountId"] == ALICE  # found by email
    assert fields["issuetype"]["name"] == "Task"
    assert fake.issue("OPS-1")["properties"] == {"pmhub": {"effect_key": request.marker}}
    sent = next(e for e in fake.exchanges if e.route == USER_SEARCH)
    assert ("query", "alice@example.com") in sent.query


async def test_description_is_an_adf_document_linking_back(
    connector: JiraConnector, fake: FakeJira
) -> None:
    await connector.create(followup())

    description = fake.issue("OPS-1")["fields"]["description"]
    assert description["type"] == "doc"
    assert description["version"] == 1
    hrefs = {
        mark["attrs"]["href"]
        for block in description["content"]
        for node in _text_nodes(block)
        for mark in node.get("marks", ())
    }
    assert hrefs == {INCIDENT_URL, DOC_URL}


def _text_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    if node.get("type") == "text":
        return [node]
    return [leaf for child in node.get("content") or () for leaf in _text_nodes(child)]


async def test_unmapped_priority_is_sent_by_name(connector: JiraConnector, fake: FakeJira) -> None:
    await connector.create(followup(priority_name="Lowest"))
    assert fake.issue("OPS-1")["fields"]["priority"]["name"] == "Lowest"


async def test_configured_priority_map_and_issue_type(
    make_connector: ConnectorFactory, fake: FakeJira
) -> None:
    connector = make_connector(priority_map={"P1": "Highest"}, issue_type="Bug")
    await connector.create(followup())
    fields = fake.issue("OPS-1")["fields"]
    assert (fields["priority"]["name"], fields["issuetype"]["name"]) == ("Highest", "Bug")


async def test_unknown_or_inactive_assignee_files_the_ticket_unassigned(
    connector: JiraConnector, fake: FakeJira
) -> None:
    await connector.create(followup(1, assignee_email="nobody@example.com"))
    await connector.create(followup(2, assignee_email="gone@example.com"))
    assert fake.issue("OPS-1")["fields"]["assignee"] is None
    assert fake.issue("OPS-2")["fields"]["assignee"] is None


async def test_assignee_lookup_is_cached(connector: JiraConnector, fake: FakeJira) -> None:
    await connector.create(followup(1))
    await connector.create(followup(2, assignee_email="ALICE@example.com"))
    assert fake.count("GET", USER_SEARCH) == 1
    assert fake.issue("OPS-2")["fields"]["assignee"]["accountId"] == ALICE


async def test_a_long_multiline_summary_is_flattened_and_shortened(
    connector: JiraConnector, fake: FakeJira
) -> None:
    await connector.create(followup(summary="Fix\nthe " + "x" * 400))
    summary = fake.issue("OPS-1")["fields"]["summary"]
    assert summary.startswith("Fix the x")
    assert len(summary) == 255


# -- a lost answer is not a second issue --------------------------------------------


async def test_commit_then_drop_then_retry_finds_the_one_issue(
    connector: JiraConnector, fake: FakeJira
) -> None:
    request = followup()
    fake.drop_after_commit(method="POST", route=ISSUE)

    with pytest.raises(Transient):
        await connector.create(request)
    assert len(fake.issues) == 1  # Jira filed it; the answer was lost

    ref = await connector.create(request, unknown_outcome=True)

    assert ref.key == "OPS-1"
    assert ref.status_category is StatusCategory.TO_DO
    assert len(fake.issues) == 1
    assert fake.count("POST", ISSUE) == 1
    # The entity property the lost attempt never wrote is written now.
    assert fake.issue("OPS-1")["properties"]["pmhub"] == {"effect_key": request.marker}


async def test_unknown_outcome_when_nothing_was_filed_files_once(
    connector: JiraConnector, fake: FakeJira
) -> None:
    fake.fail(502, route=ISSUE)
    with pytest.raises(Transient):
        await connector.create(followup())

    ref = await connector.create(followup(), unknown_outcome=True)

    assert ref.key == "OPS-1"
    assert len(fake.issues) == 1


async def test_find_by_marker(connector: JiraConnector, fake: FakeJira) -> None:
    assert await connector.find_by_marker("pm:nothing") is None
    created = await connector.create(followup())

    found = await connector.find_by_marker(followup().marker)

    assert found == TicketRef(created.key, created.url, StatusCategory.TO_DO)
    search = [e for e in fake.exchanges if e.route == SEARCH_JQL][-1]
    label = marker_label(followup().marker)
    assert dict(search.query)["jql"] == (
        f'project = "OPS" AND labels = "{label}" ORDER BY created ASC'
    )


async def test_an_issue_whose_property_names_another_key_is_not_ours(
    connector: JiraConnector, fake: FakeJira
) -> None:
    await connector.create(followup())
    # As if two effect keys hashed to the same label: the property tells them apart.
    fake.issue("OPS-1")["properties"]["pmhub"] = {"effect_key": "pm:someone-else"}
    assert await connector.find_by_marker(followup().marker) is None


async def test_markers_are_searched_within_the_project(
    make_connector: ConnectorFactory, fake: FakeJira
) -> None:
    fake.add_project("SEC", "Security")
    await make_connector(project="SEC").create(followup())
    assert await make_connector().find_by_marker(followup().marker) is None


# -- several at once ----------------------------------------------------------------


async def test_three_follow_ups_in_one_bulk_request(
    connector: JiraConnector, fake: FakeJira
) -> None:
    refs = await connector.create_many([followup(1), followup(2), followup(3)])

    assert [ref.key for ref in refs if isinstance(ref, TicketRef)] == ["OPS-1", "OPS-2", "OPS-3"]
    assert fake.count("POST", BULK) == 1
    assert fake.count("POST", ISSUE) == 0
    assert fake.count("GET", USER_SEARCH) == 1  # one person, looked up once
    bulk = next(e for e in fake.exchanges if e.route == BULK)
    assert len(bulk.body["issueUpdates"]) == 3
    for n, key in enumerate(("OPS-1", "OPS-2", "OPS-3"), start=1):
        assert marker_label(followup(n).marker) in fake.issue(key)["fields"]["labels"]


async def test_bulk_partial_failure_is_reported_per_item(
    connector: JiraConnector, fake: FakeJira
) -> None:
    results = await connector.create_many(
        [followup(1), followup(2, labels=("needs review",)), followup(3, priority_name="P9")]
    )

    assert isinstance(results[0], TicketRef)
    assert isinstance(results[1], Permanent)
    assert "labels: The label 'needs review' contains spaces" in results[1].reason
    assert isinstance(results[2], Permanent)
    assert "priority: The priority selected is invalid." in results[2].reason
    assert list(fake.issues) == ["OPS-1"]


async def test_bulk_where_every_item_fails(connector: JiraConnector, fake: FakeJira) -> None:
    results = await connector.create_many(
        [followup(1, labels=("a b",)), followup(2, labels=("c d",))]
    )
    assert all(isinstance(result, Permanent) for result in results)
    assert fake.issues == {}


async def test_bulk_retry_after_a_lost_answer_files_nothing_twice(
    connector: JiraConnector, fake: FakeJira
) -> None:
    requests = [followup(1), followup(2), followup(3)]
    fake.drop_after_commit(route=BULK)
    with pytest.raises(Transient):
        await connector.create_many(requests)

    refs = await connector.create_many([*requests, followup(4)], unknown_outcome=True)

    assert [ref.key for ref in refs if isinstance(ref, TicketRef)] == [
        "OPS-1",
        "OPS-2",
        "OPS-3",
        "OPS-4",
    ]
    assert len(fake.issues) == 4
    second_bulk = [e for e in fake.exchanges if e.route == BULK][1]
    assert len(second_bulk.body["issueUpdates"]) == 1  # only the new one


async def test_search_follows_next_page_tokens(connector: JiraConnector, fake: FakeJira) -> None:
    requests = [followup(n) for n in range(1, 6)]
    await connector.create_many(requests)
    fake.max_page_size = 2

    refs = await connector.create_many(requests, unknown_outcome=True)

    assert len(refs) == 5
    assert len(fake.issues) == 5
    pages = [e for e in fake.exchanges if e.route == SEARCH_JQL]
    assert len(pages) == 3
    assert "nextPageToken" in dict(pages[1].query)


async def test_more_than_fifty_are_sent_in_chunks(connector: JiraConnector, fake: FakeJira) -> None:
    refs = await connector.create_many([followup(n) for n in range(1, 53)])
    assert sum(isinstance(ref, TicketRef) for ref in refs) == 52
    assert fake.count("POST", BULK) == 2


# -- transitions --------------------------------------------------------------------


async def test_transition_to_done_and_back(connector: JiraConnector, fake: FakeJira) -> None:
    ref = await connector.create(followup())

    done = await connector.transition_to_done(ref.key)
    assert done.status_category is StatusCategory.DONE
    assert fake.issue(ref.key)["fields"]["status"]["name"] == "Done"
    assert (await connector.get(ref.key)).status_category is StatusCategory.DONE

    reopened = await connector.reopen(ref.key)
    assert reopened.status_category is StatusCategory.TO_DO
    assert fake.issue(ref.key)["fields"]["status"]["name"] == "To Do"


async def test_transitions_are_idempotent(connector: JiraConnector, fake: FakeJira) -> None:
    ref = await connector.create(followup())
    await connector.reopen(ref.key)  # not done: nothing to do
    await connector.transition_to_done(ref.key)
    await connector.transition_to_done(ref.key)  # already done: nothing to do
    assert fake.count("POST", TRANSITIONS) == 1


async def test_reopen_falls_back_to_in_progress(connector: JiraConnector, fake: FakeJira) -> None:
    ref = await connector.create(followup())
    await connector.transition_to_done(ref.key)
    del fake.workflow["11"]  # no way back to To Do in this workflow

    reopened = await connector.reopen(ref.key)

    assert reopened.status_category is StatusCategory.IN_PROGRESS


async def test_no_transition_to_done_is_permanent(connector: JiraConnector, fake: FakeJira) -> None:
    ref = await connector.create(followup())
    del fake.workflow["31"]

    with pytest.raises(Permanent, match=r"no transition leads to a done status .*Start progress"):
        await connector.transition_to_done(ref.key)


# -- parent issue -------------------------------------------------------------------


async def test_parent_mode_files_follow_ups_under_one_parent(
    make_connector: ConnectorFactory, fake: FakeJira
) -> None:
    connector = make_connector(parent_issue=True)
    parent_request = followup(0, summary="Post-mortem: checkout outage", marker="pm:P:parent")

    parent = await connector.create_parent(parent_request)
    assert parent is not None
    again = await connector.create_parent(parent_request, unknown_outcome=True)
    refs = await connector.create_many([followup(n, parent_key=parent.key) for n in (1, 2, 3)])

    assert again is not None
    assert again.key == parent.key == "OPS-1"
    assert fake.issue("OPS-1")["fields"]["issuetype"]["name"] == "Epic"
    children = [ref.key for ref in refs if isinstance(ref, TicketRef)]
    assert children == ["OPS-2", "OPS-3", "OPS-4"]
    assert {fake.issue(key)["fields"]["parent"]["key"] for key in children} == {"OPS-1"}


async def test_without_parent_mode_there_is_no_parent(
    connector: JiraConnector, fake: FakeJira
) -> None:
    assert await connector.create_parent(followup(0)) is None
    assert fake.exchanges == []


async def test_a_missing_parent_is_permanent(connector: JiraConnector) -> None:
    with pytest.raises(Permanent, match=r"parent: Could not find issue"):
        await connector.create(followup(parent_key="OPS-404"))


async def test_check_reports_who_pmhub_is(connector: JiraConnector) -> None:
    assert await connector.check() == "pmhub test Jira: signed in as pmhub bot"
