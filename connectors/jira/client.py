"""Jira REST transport: the `jira` package (pycontribs), made async, typed and quiet.

Why the package: it is the maintained Python client, knows both deployments' auth
(basic email + API token on Cloud, bearer PAT on Data Center), the v2/v3 URL
layout, Cloud's enhanced JQL search with `nextPageToken`, and the bulk-create
answer format. How it is used, and why:

* **No I/O at construction.** `JIRA(...)` would GET `/serverInfo` to learn the
  deployment type; pmhub knows it from the credential given, so it passes
  `get_server_info=False` and sets `deploymentType` itself ("Cloud" routes
  `search_issues` to `/search/jql`; the classic `/search` is gone on Cloud).
  `validate=False` (no `/session` call) and `check_update=False` (no PyPI call).
* **Retries off.** `max_retries=0` makes its `ResilientSession` send each request
  once: no sleeping in a worker thread on 429/503, no retried POST that files a
  second issue. pmhub's job runner owns retries (durable, backoff with jitter,
  Retry-After honoured across restarts).
* **REST version by deployment.** `rest_api_version` "3" on Cloud: every call goes
  to `/rest/api/3/...`, `create_issue(fields=...)` included, so descriptions are ADF
  documents; "2" on Data Center, where v3 does not exist.
* **Blocking calls in threads** (`asyncio.to_thread`), bounded by `timeout`
  (requests' connect and read timeouts).
* **Quiet and secret-free.** `logging=False` sets the package's logger to CRITICAL:
  everything it would log reaches us as an exception, and its error logs dump raw
  bodies. Credentials live in the session's auth handler, which adds the header at
  send time, so neither `JIRAError` (which keeps the session's headers) nor our
  messages (built from status and Jira's error collection) can contain them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import requests
from jira import JIRA, JIRAError

from connectors.jira.config import Deployment, JiraConfig
from connectors.jira.errors import (
    describe_error_body,
    error_for_jira_error,
    error_for_request_exception,
)
from hub.errors import ConnectorError, Permanent, Transient

T = TypeVar("T")
Json = dict[str, Any]

USER_SEARCH_LIMIT = 10
HTTP_NOT_FOUND = 404


def _make_jira(config: JiraConfig) -> JIRA:
    options: dict[str, Any] = {
        "rest_api_version": config.rest_api_version,
        "check_update": False,
        # requests takes a CA bundle path in place of the system roots.
        "verify": str(config.ca_bundle) if config.ca_bundle else True,
    }
    common: dict[str, Any] = {
        "options": options,
        "get_server_info": False,
        "validate": False,
        "max_retries": 0,
        "timeout": config.timeout_seconds,
        "logging": False,
    }
    if config.api_token is not None:
        basic = (config.email or "", config.api_token.get_secret_value())
        jira = JIRA(config.url, basic_auth=basic, **common)
        jira.deploymentType = "Cloud"
    elif config.token is not None:
        jira = JIRA(config.url, token_auth=config.token.get_secret_value(), **common)
    else:  # pragma: no cover - JiraConfig requires one of them
        raise ValueError("Jira needs api_token or token")
    return jira


class JiraClient:
    """Typed async calls to the Jira endpoints pmhub uses; raises only `hub.errors`."""

    def __init__(self, config: JiraConfig) -> None:
        self._cloud = config.deployment is Deployment.CLOUD
        self._jira = _make_jira(config)

    async def close(self) -> None:
        self._jira.close()  # type: ignore[no-untyped-call]  # unannotated in the package

    async def server_info(self) -> Json:
        return _dict(await self._run("GET serverInfo", self._jira.server_info), "serverInfo")

    async def myself(self) -> Json:
        return _dict(await self._run("GET myself", self._jira.myself), "myself")

    async def find_users(self, email: str) -> list[Json]:
        """User search by email: Cloud matches `query` (names and emails), DC `username`."""

        def call() -> list[Json]:
            if self._cloud:
                found = self._jira.search_users(query=email, maxResults=USER_SEARCH_LIMIT)
            else:
                found = self._jira.search_users(user=email, maxResults=USER_SEARCH_LIMIT)
            return [dict(user.raw) for user in found if user.raw]

        return await self._run("GET user search", call)

    async def create_issue(self, fields: Json) -> Json:
        # prefetch=False: the answer's key is all pmhub needs; no extra GET.
        issue = await self._run(
            "POST issue", lambda: self._jira.create_issue(fields=fields, prefetch=False)
        )
        return _dict(issue.raw, "POST issue")

    async def create_issues(self, field_list: Sequence[Json]) -> list[Json | ConnectorError]:
        """POST issue/bulk: one result per item, in order (created issue or its error)."""

        def call() -> list[dict[str, Any]]:
            return self._jira.create_issues([dict(f) for f in field_list], prefetch=False)

        items = await self._run("POST issue/bulk", call)
        results: list[Json | ConnectorError] = []
        for index, item in enumerate(items):
            if item.get("status") == "Success" and item.get("issue") is not None:
                results.append(_dict(item["issue"].raw, "POST issue/bulk"))
            else:
                detail = describe_error_body({"errors": item.get("error") or {}})
                results.append(
                    Permanent(f"Jira POST issue/bulk item {index}: {detail or 'refused'}")
                )
        return results

    async def search(
        self, jql: str, *, fields: Sequence[str], properties: Sequence[str] = ()
    ) -> list[Json]:
        """Every issue matching `jql`, following pagination to the end.

        Cloud: GET /search/jql with `nextPageToken` (maxResults=0 makes the package
        fetch every page). GET rather than POST because the package's POST body
        sends `properties` as a string and `expand: null`, which the v3 schema
        refuses; the GET query string is exactly what the document describes.
        Data Center: the classic GET /search with `startAt`.
        """
        wanted = list(fields)
        props = ",".join(properties) or None

        def call() -> list[Json]:
            if self._cloud:
                found: Any = self._jira.enhanced_search_issues(
                    jql, maxResults=0, fields=wanted, properties=props
                )
            else:
                found = self._jira.search_issues(jql, maxResults=0, fields=wanted, properties=props)
            return [dict(issue.raw) for issue in found if issue.raw]

        return await self._run("search", call)

    async def get_issue(self, key: str, *, fields: Sequence[str]) -> Json:
        issue = await self._run("GET issue", lambda: self._jira.issue(key, fields=",".join(fields)))
        return _dict(issue.raw, "GET issue")

    async def transitions(self, key: str) -> list[Json]:
        found = await self._run("GET transitions", lambda: self._jira.transitions(key))
        if not isinstance(found, list):
            raise Transient(f"Jira GET transitions: unexpected answer for {key}")
        return [dict(item) for item in found if isinstance(item, dict)]

    async def transition(self, key: str, transition_id: str) -> None:
        await self._run("POST transition", lambda: self._jira.transition_issue(key, transition_id))

    async def edit_issue(self, key: str, fields: Json) -> None:
        """PUT /issue/{key}: only the fields given change.

        Watchers are notified as for any edit: turning that off (`notifyUsers=false`)
        needs Jira admin rights pmhub should not ask for.
        """

        def call() -> None:
            # `Issue.update` would GET the issue first; the bare PUT is one call.
            url = self._jira._get_url(f"issue/{key}")
            self._jira._session.put(url, json={"fields": fields})

        await self._run("PUT issue", call)

    async def set_property(self, key: str, property_key: str, value: Json) -> None:
        await self._run(
            "PUT issue property", lambda: self._jira.add_issue_property(key, property_key, value)
        )

    # -- read-only checks for `pmhub doctor` (connectors/jira/doctor.py) ---------------

    async def project(self, key: str) -> Json | None:
        """GET project/{key} (with its `issueTypes`); None when Jira knows no such
        project, or this account may not browse it (Jira answers both with a 404)."""

        def call() -> Json | None:
            try:
                return dict(self._jira.project(key).raw)
            except JIRAError as exc:
                if exc.status_code == HTTP_NOT_FOUND:
                    return None
                raise

        return await self._run("GET project", call)

    async def priority_names(self) -> list[str]:
        """GET priority: the names of the site's priorities."""

        def call() -> list[str]:
            return [str(priority.name) for priority in self._jira.priorities()]

        return await self._run("GET priority", call)

    async def fields(self) -> list[Json]:
        """GET field: every system and custom field the account can see."""
        answer = await self._run("GET field", self._jira.fields)
        return [dict(item) for item in answer if isinstance(item, dict)]

    async def _run(self, what: str, call: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(call)
        except JIRAError as exc:
            raise error_for_jira_error(exc, what) from None
        except requests.RequestException as exc:
            raise error_for_request_exception(exc, what) from None
        except ValueError as exc:
            # A 2xx whose body is not JSON: a proxy's page, a truncated answer.
            raise Transient(f"Jira {what}: unreadable answer ({type(exc).__name__})") from None
        except (KeyError, TypeError) as exc:
            # The package read an answer that is not shaped as Jira documents it
            # (e.g. a whole-call 400 to issue/bulk without per-item errors).
            raise Permanent(f"Jira {what}: unexpected answer shape ({exc!r})"[:300]) from None


def _dict(value: Any, what: str) -> Json:
    if not isinstance(value, dict):
        raise Transient(f"Jira {what}: unexpected answer of type {type(value).__name__}")
    return value
