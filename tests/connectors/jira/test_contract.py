"""Both sides of every Jira call checked against Jira Cloud's OpenAPI document (v3).

The connector drives the fake through every operation pmhub uses and through the
documented failures; a plain HTTP client covers what the fake serves beyond that
(edit, property read, POST search). Then each recorded request and each answer is
validated against the trimmed official document.
"""

from __future__ import annotations

import base64
import contextlib
import copy
from collections.abc import Awaitable
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from connectors.common.faults import Exchange
from connectors.jira import JiraConnector
from connectors.jira.config import JiraConfig
from connectors.jira.doctor import diagnose
from connectors.jira.fake import USER_SEARCH, FakeJira
from hub.errors import ConnectorError
from tests.connectors.jira.conftest import ConnectorFactory, followup, settings_for
from tests.support.contract import ContractViolation, OpenApiContract

OPERATIONS = {
    ("GET", "/rest/api/3/serverInfo"),
    ("GET", "/rest/api/3/myself"),
    ("GET", "/rest/api/3/field"),
    ("POST", "/rest/api/3/issue"),
    ("POST", "/rest/api/3/issue/bulk"),
    ("GET", "/rest/api/3/issue/{issueIdOrKey}"),
    ("PUT", "/rest/api/3/issue/{issueIdOrKey}"),
    ("GET", "/rest/api/3/issue/{issueIdOrKey}/transitions"),
    ("POST", "/rest/api/3/issue/{issueIdOrKey}/transitions"),
    ("GET", "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}"),
    ("PUT", "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}"),
    ("GET", "/rest/api/3/user/search"),
    ("GET", "/rest/api/3/search/jql"),
    ("POST", "/rest/api/3/search/jql"),
    ("GET", "/rest/api/3/project/{projectIdOrKey}"),
    ("GET", "/rest/api/3/priority"),
}


def package_quirks(exchange: Exchange) -> tuple[list[tuple[str, str]], Any]:
    """What the `jira` package sends beyond the document, which Jira Cloud accepts.

    * `search_users` always adds `includeActive`/`includeInactive` (Server parameters;
      Cloud ignores them and returns both, with `active`, which the connector checks).
    * `transition_issue` sends the transition id as a number (`int(id)`); Jira
      accepts it, the document types it as a string.
    Everything else the package sends must match the document as is.
    """
    query = exchange.query
    if exchange.route == USER_SEARCH:
        query = [(k, v) for k, v in query if k not in ("includeActive", "includeInactive")]
    body = exchange.body
    if exchange.path.endswith("/transitions") and isinstance(body, dict):
        body = copy.deepcopy(body)
        body["transition"]["id"] = str(body["transition"]["id"])
    return query, body


async def _tolerate(call: Awaitable[object]) -> None:
    with contextlib.suppress(ConnectorError):
        await call


async def exercise(
    connector: JiraConnector, wrong: JiraConnector, fake: FakeJira, base_url: str
) -> None:
    await connector.check()
    parent = await connector.create_parent(followup(0, marker="pm:parent"))
    assert parent is not None
    ref = await connector.create(followup(1, parent_key=parent.key))
    await connector.create_many([followup(2), followup(3, labels=("a b",))])
    fake.max_page_size = 1
    await connector.create_many([followup(2), followup(4)], unknown_outcome=True)
    await connector.transition_to_done(ref.key)
    await connector.reopen(ref.key)
    # The documented failures: 400, 401, 404, 429.
    await _tolerate(connector.create(followup(5, priority_name="P9")))
    await _tolerate(connector.create_many([followup(6, labels=("x y",))]))
    await _tolerate(connector.get("OPS-404"))
    await _tolerate(wrong.get(ref.key))
    await _tolerate(wrong.create(followup(7)))
    fake.rate_limit(retry_after=3, route=USER_SEARCH)
    await _tolerate(connector.create(followup(8, assignee_email="bob@example.com")))

    # What the fake serves that the connector does not call.
    basic = base64.b64encode(f"{fake.email}:{fake.api_token}".encode()).decode()
    async with aiohttp.ClientSession(base_url, headers={"Authorization": f"Basic {basic}"}) as http:
        one = f"/rest/api/3/issue/{ref.key}"
        await (await http.put(one, json={"fields": {"summary": "Renamed", "labels": ["x"]}})).read()
        await (await http.put(one, json={"fields": {"labels": ["x y"]}})).read()
        await (await http.get(f"{one}/properties/pmhub")).read()
        await (await http.get(f"{one}/properties/absent")).read()
        search = {"jql": "project = OPS", "maxResults": 2, "fields": ["summary", "status"]}
        await (await http.post("/rest/api/3/search/jql", json=search)).read()
        await (await http.post("/rest/api/3/search/jql", json={"jql": "project ~ OPS"})).read()


def documented(exchange: Exchange, contract: OpenApiContract) -> bool:
    # Injected 5xx, hangs and drops are not part of Jira's contract; an injected 429
    # is checked where the operation documents it.
    if exchange.fault is None:
        return True
    if exchange.fault != "rate_limit":
        return False
    template, _ = contract.match(exchange.path)
    return "429" in contract.operation(exchange.method, template).get("responses", {})


async def test_every_request_and_answer_matches_the_document(
    make_connector: ConnectorFactory,
    fake: FakeJira,
    base_url: str,
    contract: OpenApiContract,
) -> None:
    connector = make_connector(parent_issue=True)
    await exercise(connector, make_connector(api_token=SecretStr("nope")), fake, base_url)
    # `pmhub doctor`'s reads: myself, the project (and a missing one), priorities, fields.
    for project in ("OPS", "NOPE"):
        config = JiraConfig.model_validate(settings_for(fake, base_url, project=project))
        async with aiohttp.ClientSession() as session:
            assert await diagnose(config, session)

    seen: set[tuple[str, str]] = set()
    statuses: set[int] = set()
    for exchange in fake.exchanges:
        if not documented(exchange, contract):
            continue
        query, body = package_quirks(exchange)
        template = contract.validate_request(
            exchange.method, exchange.path, query=query, headers=exchange.headers, body=body
        )
        assert exchange.status is not None
        contract.validate_response(exchange.method, template, exchange.status, exchange.response)
        seen.add((exchange.method, template))
        statuses.add(exchange.status)

    assert seen == OPERATIONS
    assert statuses == {200, 201, 204, 400, 401, 404, 429}


# -- the contract check has teeth --------------------------------------------------

HEADERS = {"Authorization": "Basic eDp5", "Content-Type": "application/json"}


def test_posting_properties_as_a_string_is_a_violation(contract: OpenApiContract) -> None:
    # Why the client searches with GET: the package's POST body looks like this.
    body = {"jql": "project = OPS", "properties": "pmhub", "expand": None, "maxResults": 50}
    with pytest.raises(ContractViolation, match="is not of type 'array'"):
        contract.validate_request("POST", "/rest/api/3/search/jql", headers=HEADERS, body=body)


def test_an_undocumented_query_parameter_is_a_violation(contract: OpenApiContract) -> None:
    with pytest.raises(ContractViolation, match="'includeActive' is not documented"):
        contract.validate_request(
            "GET",
            "/rest/api/3/user/search",
            query=[("query", "a@example.com"), ("includeActive", "True")],
            headers=HEADERS,
        )


def test_a_misshapen_answer_is_a_violation(contract: OpenApiContract) -> None:
    with pytest.raises(ContractViolation, match="is not of type 'string'"):
        contract.validate_response(
            "POST", "/rest/api/3/issue/bulk", 201, {"issues": [{"id": 10001, "key": "OPS-1"}]}
        )
    with pytest.raises(ContractViolation, match="Additional properties"):
        contract.validate_response(
            "POST", "/rest/api/3/issue", 400, {"errorMessages": [], "fieldErrors": {}}
        )
