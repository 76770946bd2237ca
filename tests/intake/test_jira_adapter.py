"""Jira `jira:issue_updated` → follow-up facts; every other event is ignored."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from hub.intake.adapters import Ignored, parse_delivery
from hub.model.followup_event import FollowUpFact, FollowUpStatus
from hub.model.incident import Person


def issue_updated(category: str, **extra: Any) -> dict[str, Any]:
    # The shape Jira Cloud sends (webhookEvent, epoch-ms timestamp, issue, changelog).
    return {
        "timestamp": 1714557600000,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Ann"},
        "issue": {
            "id": "10002",
            "self": "https://acme.atlassian.net/rest/api/2/10002",
            "key": "OPS-17",
            "fields": {
                "summary": "Add a retry budget",
                "status": {"name": "Shipped", "statusCategory": {"key": category, "id": 3}},
                "assignee": {"displayName": "Bob", "emailAddress": "bob@example.com"},
                "priority": {"name": "High"},
                "updated": "2024-05-01T10:00:00.000+0000",
            },
        },
        "changelog": {
            "id": "10081",
            "items": [{"field": "status", "fromString": "To Do", "toString": "Shipped"}],
        },
        **extra,
    }


def parse(body: dict[str, Any]) -> tuple[object, ...]:
    return parse_delivery("jira", json.dumps(body).encode())


def test_done_issue() -> None:
    assert parse(issue_updated("done")) == (
        FollowUpFact(
            source="jira",
            external_id="OPS-17",
            title="Add a retry budget",
            status=FollowUpStatus.DONE,
            owner=Person(name="Bob", email="bob@example.com"),
            priority="High",
            at=datetime(2024, 5, 1, 10, tzinfo=UTC),
            url="https://acme.atlassian.net/browse/OPS-17",
        ),
    )


@pytest.mark.parametrize("category", ["new", "indeterminate", "undefined"])
def test_other_categories_are_open(category: str) -> None:
    (fact,) = parse(issue_updated(category))
    assert isinstance(fact, FollowUpFact)
    assert fact.status is FollowUpStatus.OPEN


def test_time_falls_back_to_issue_updated() -> None:
    (fact,) = parse(issue_updated("done", timestamp="yesterday"))
    assert isinstance(fact, FollowUpFact)
    assert fact.at == datetime(2024, 5, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [
        {"webhookEvent": "jira:issue_created", "issue": {"key": "OPS-1"}},
        {"webhookEvent": "comment_created"},
        {"webhookEvent": "jira:issue_updated", "issue": {"fields": {}}},
        {},
    ],
)
def test_everything_else_is_ignored(body: dict[str, Any]) -> None:
    assert all(isinstance(result, Ignored) for result in parse(body))
