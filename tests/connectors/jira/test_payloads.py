"""The pure builders: marker labels, JQL, descriptions, fields, status categories."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.jira.fake.jql import parse
from connectors.jira.payloads import (
    adf_description,
    issue_fields,
    jql_for_markers,
    jql_string,
    marker_label,
    status_category,
    wiki_description,
)
from hub.ports import StatusCategory, TicketLink, TicketRequest


@given(st.text(min_size=1))
def test_marker_label_is_stable_and_a_valid_jira_label(marker: str) -> None:
    label = marker_label(marker)
    assert label == marker_label(marker)
    assert re.fullmatch(r"pmhub-[0-9a-f]{16}", label)


def test_different_markers_get_different_labels() -> None:
    assert marker_label("pm:a:followup:1:ticket") != marker_label("pm:a:followup:2:ticket")


@given(st.text())
def test_jql_strings_round_trip_through_the_fakes_parser(value: str) -> None:
    query = parse(f"labels = {jql_string(value)}")
    assert query.matches({"fields": {"labels": [value]}})


def test_jql_for_one_and_several_markers() -> None:
    one = jql_for_markers("OPS", ["m1"])
    assert one == f'project = "OPS" AND labels = "{marker_label("m1")}" ORDER BY created ASC'
    several = jql_for_markers("OPS", ["m1", "m2"])
    assert f'labels in ("{marker_label("m1")}", "{marker_label("m2")}")' in several


def test_adf_paragraphs_line_breaks_and_autolinks() -> None:
    doc = adf_description(
        "First line\nsecond line, see https://x.example/a.\n\nNext paragraph",
        [TicketLink("Incident", "https://pd.example/i/1")],
    )
    first, second, links = doc["content"]
    assert [node["type"] for node in first["content"]] == [
        "text",
        "hardBreak",
        "text",
        "text",
        "text",
    ]
    url_node = first["content"][3]
    assert url_node == {
        "type": "text",
        "text": "https://x.example/a",  # the full stop stays outside the link
        "marks": [{"type": "link", "attrs": {"href": "https://x.example/a"}}],
    }
    assert second["content"] == [{"type": "text", "text": "Next paragraph"}]
    assert links["type"] == "bulletList"
    item = links["content"][0]["content"][0]["content"][0]
    assert item["text"] == "Incident"
    assert item["marks"][0]["attrs"]["href"] == "https://pd.example/i/1"


def test_empty_description_is_an_empty_document() -> None:
    assert adf_description("", []) == {"type": "doc", "version": 1, "content": []}


def test_wiki_description_escapes_link_titles() -> None:
    text = wiki_description("Body", [TicketLink("a|b [c]", "https://x")])
    assert text == "Body\n\n* [a-b (c)|https://x]"


def _request(**overrides: object) -> TicketRequest:
    values: dict[str, object] = {"summary": "S", "description": "", "marker": "m"}
    return TicketRequest(**{**values, **overrides})  # type: ignore[arg-type]


def test_fields_minimal() -> None:
    fields = issue_fields(
        _request(), project="OPS", issue_type="Task", priority_map={}, assignee=None, adf=True
    )
    assert fields == {
        "project": {"key": "OPS"},
        "issuetype": {"name": "Task"},
        "summary": "S",
        "labels": [marker_label("m")],
    }


def test_fields_full() -> None:
    fields = issue_fields(
        _request(labels=("a", "a", "b"), priority_name="P0", parent_key="OPS-1", description="d"),
        project="OPS",
        issue_type="Task",
        priority_map={"P0": "Highest"},
        assignee={"accountId": "x"},
        adf=False,
    )
    assert fields["labels"] == ["a", "b", marker_label("m")]
    assert fields["priority"] == {"name": "Highest"}
    assert fields["assignee"] == {"accountId": "x"}
    assert fields["parent"] == {"key": "OPS-1"}
    assert fields["description"] == "d"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("new", StatusCategory.TO_DO),
        ("undefined", StatusCategory.TO_DO),
        ("indeterminate", StatusCategory.IN_PROGRESS),
        ("done", StatusCategory.DONE),
        ("weird", None),
    ],
)
def test_status_categories(key: str, expected: StatusCategory | None) -> None:
    issue = {"fields": {"status": {"statusCategory": {"key": key}}}}
    assert status_category(issue) is expected


def test_status_category_absent() -> None:
    assert status_category({"key": "OPS-1"}) is None
