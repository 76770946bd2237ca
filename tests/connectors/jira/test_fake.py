"""The fake's own behaviour where the connector does not reach: JQL, POST search,
edits, properties, Jira's refusals."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from connectors.jira.fake import FakeJira
from connectors.jira.fake.jql import JqlError, parse


@pytest.fixture
async def http(fake: FakeJira, base_url: str) -> AsyncIterator[aiohttp.ClientSession]:
    basic = base64.b64encode(f"{fake.email}:{fake.api_token}".encode()).decode()
    async with aiohttp.ClientSession(base_url, headers={"Authorization": f"Basic {basic}"}) as s:
        yield s


async def _call(
    http: aiohttp.ClientSession, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    async with http.request(method, path, json=body) as response:
        text = await response.text()
        return response.status, (await response.json() if text else None)


def _adf(text: str) -> dict[str, Any]:
    content = [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]
    return {"type": "doc", "version": 1, "content": content}


def _fields(**extra: Any) -> dict[str, Any]:
    return {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "S", **extra}


async def test_v3_wants_adf_and_v2_wants_text(http: aiohttp.ClientSession) -> None:
    status, body = await _call(
        http, "POST", "/rest/api/3/issue", {"fields": _fields(description="x")}
    )
    assert status == 400
    assert "Atlassian Document" in body["errors"]["description"]
    assert (
        await _call(http, "POST", "/rest/api/3/issue", {"fields": _fields(description=_adf("x"))})
    )[0] == 201
    assert (await _call(http, "POST", "/rest/api/2/issue", {"fields": _fields(description="x")}))[
        0
    ] == 201


async def test_refusals_use_jiras_error_shape(http: aiohttp.ClientSession) -> None:
    bad = {"project": {"key": "NOPE"}, "issuetype": {"name": "Nope"}, "labels": ["a b"], "x": 1}
    status, body = await _call(http, "POST", "/rest/api/3/issue", {"fields": bad})
    assert status == 400
    assert body["errorMessages"] == []
    assert set(body["errors"]) == {"project", "issuetype", "labels", "summary", "x"}


async def test_unauthenticated_is_401(base_url: str) -> None:
    async with aiohttp.ClientSession(base_url) as anonymous:
        status, body = await _call(anonymous, "GET", "/rest/api/3/myself")
    assert status == 401
    assert body["errorMessages"]


async def test_post_search_paginates_with_next_page_token(
    http: aiohttp.ClientSession, fake: FakeJira
) -> None:
    for _ in range(3):
        await _call(http, "POST", "/rest/api/3/issue", {"fields": _fields(labels=["L"])})
    keys: list[str] = []
    token = None
    while True:
        request = {"jql": 'labels = "L"', "maxResults": 2, "fields": ["summary"]}
        if token:
            request["nextPageToken"] = token
        status, page = await _call(http, "POST", "/rest/api/3/search/jql", request)
        assert status == 200
        keys += [issue["key"] for issue in page["issues"]]
        token = page.get("nextPageToken")
        if page["isLast"]:
            break
    assert keys == ["OPS-1", "OPS-2", "OPS-3"]
    assert "nextPageToken" not in page


async def test_search_by_entity_property_and_bad_jql(http: aiohttp.ClientSession) -> None:
    await _call(http, "POST", "/rest/api/3/issue", {"fields": _fields()})
    await _call(http, "PUT", "/rest/api/3/issue/OPS-1/properties/pmhub", {"effect_key": "k"})
    jql = 'project = OPS AND issue.property[pmhub].effect_key = "k"'
    status, page = await _call(http, "POST", "/rest/api/3/search/jql", {"jql": jql})
    assert [issue["key"] for issue in page["issues"]] == ["OPS-1"]
    status, body = await _call(http, "POST", "/rest/api/3/search/jql", {"jql": "summary ~ x"})
    assert status == 400
    assert body["errorMessages"]


async def test_classic_search_is_gone_on_cloud(http: aiohttp.ClientSession) -> None:
    assert (await _call(http, "GET", "/rest/api/3/search?jql=project%20%3D%20OPS"))[0] == 410


async def test_edit_and_properties(http: aiohttp.ClientSession, fake: FakeJira) -> None:
    await _call(http, "POST", "/rest/api/3/issue", {"fields": _fields()})
    assert (await _call(http, "PUT", "/rest/api/3/issue/OPS-1", {"fields": {"summary": "T"}}))[
        0
    ] == 204
    assert fake.issue("OPS-1")["fields"]["summary"] == "T"
    status, body = await _call(http, "PUT", "/rest/api/3/issue/OPS-1", {"fields": {"status": {}}})
    assert status == 400
    assert "status" in body["errors"]
    assert (await _call(http, "PUT", "/rest/api/3/issue/OPS-1/properties/p", {"a": 1}))[0] == 201
    assert (await _call(http, "PUT", "/rest/api/3/issue/OPS-1/properties/p", {"a": 2}))[0] == 200
    assert (await _call(http, "GET", "/rest/api/3/issue/OPS-1/properties/p"))[1] == {
        "key": "p",
        "value": {"a": 2},
    }
    assert (await _call(http, "GET", "/rest/api/3/issue/OPS-1/properties/q"))[0] == 404


async def test_an_unavailable_transition_is_refused(http: aiohttp.ClientSession) -> None:
    await _call(http, "POST", "/rest/api/3/issue", {"fields": _fields()})
    body = {"transition": {"id": "11"}}  # to To Do, where it already is
    status, answer = await _call(http, "POST", "/rest/api/3/issue/OPS-1/transitions", body)
    assert status == 400
    assert answer["errorMessages"] == ["Transition id '11' is not valid for this issue."]


async def test_bulk_limit(http: aiohttp.ClientSession) -> None:
    updates = [{"fields": _fields()} for _ in range(51)]
    assert (await _call(http, "POST", "/rest/api/3/issue/bulk", {"issueUpdates": updates}))[
        0
    ] == 400


@pytest.mark.parametrize(
    "jql",
    [
        "project",
        "project = ",
        "labels in a",
        "labels in (a b)",
        "a = b OR c = d",
        "x ~ y",
        '"s" = x',
    ],
)
def test_unsupported_jql_is_refused(jql: str) -> None:
    with pytest.raises(JqlError):
        parse(jql)


def test_jql_operators() -> None:
    issue = {
        "key": "OPS-1",
        "id": "1",
        "fields": {"labels": ["a"], "project": {"key": "OPS", "id": "9"}},
    }
    assert parse("labels != b").matches(issue)
    assert not parse("labels != a").matches(issue)
    assert parse("labels in (b, a) AND key = OPS-1 ORDER BY created DESC").matches(issue)
    assert parse("").matches(issue)
    assert parse("project = 9 order by key desc, created").order_by == (
        ("key", True),
        ("created", False),
    )
