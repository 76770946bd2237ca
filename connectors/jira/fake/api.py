"""The Jira fake's endpoints: what each answers, shaped as Jira shapes it.

Split from the fake's `__init__.py` (state, faults, serving); issue validation and rendering live
in `issues.py`, the JQL subset in `jql.py`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web

from connectors.jira.fake.issues import (
    FIELDS,
    ISSUE_TYPES,
    PRIORITIES,
    SERVER_TIME,
    SITE,
    Json,
    build_issue,
    check_edit,
    render_issue,
    status_json,
)
from connectors.jira.fake.jql import JqlError, parse

if TYPE_CHECKING:
    from connectors.jira.fake import FakeJira

__all__ = ["SITE", "Json", "add_routes", "error_response", "user_json"]

BULK_LIMIT = 50
DEFAULT_PAGE = 50


def error_response(
    status: int,
    *messages: str,
    errors: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    body = {"errorMessages": list(messages), "errors": dict(errors or {})}
    return web.json_response(body, status=status, headers=headers)


def not_found() -> web.Response:
    return error_response(404, "Issue does not exist or you do not have permission to see it.")


def user_json(user: Json, *, cloud: bool) -> Json:
    body: Json = {
        "self": f"{SITE}/rest/api/{'3' if cloud else '2'}/user?accountId={user['accountId']}",
        "emailAddress": user["emailAddress"],
        "displayName": user["displayName"],
        "active": user["active"],
        "timeZone": user["timeZone"],
        "avatarUrls": {"48x48": f"{SITE}/avatar/{user['accountId']}.png"},
    }
    if cloud:  # Cloud names people by accountId only (GDPR mode: no name/key)
        body |= {"accountId": user["accountId"], "accountType": user["accountType"]}
    else:
        body |= {"name": user["name"], "key": user["name"]}
    return body


def _multi(values: Sequence[str]) -> list[str]:
    """Array query parameters arrive repeated, comma-joined, or both."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        return int(text.removeprefix("offset:"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("Invalid nextPageToken") from None


async def _body(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def add_routes(app: web.Application, state: FakeJira) -> None:  # noqa: PLR0915 - one closure per route
    def cloud() -> bool:
        return state.deployment == "Cloud"

    def find(key: str) -> Json | None:
        return state.issues.get(key) or next(
            (issue for issue in state.issues.values() if issue["id"] == key), None
        )

    def matching(jql: str) -> list[Json]:
        query = parse(jql)
        found = [issue for issue in state.issues.values() if query.matches(issue)]
        found.sort(key=lambda issue: int(issue["id"]))
        if any(field in ("created", "key") and desc for field, desc in query.order_by):
            found.reverse()
        return found

    async def server_info(request: web.Request) -> web.Response:
        version = "1001.0.0-SNAPSHOT" if cloud() else "9.12.15"
        return web.json_response(
            {
                "baseUrl": SITE,
                "version": version,
                "versionNumbers": [
                    int(part) for part in version.split("-", maxsplit=1)[0].split(".")
                ],
                "deploymentType": state.deployment,
                "buildNumber": 100275,
                "buildDate": "2025-01-06T00:00:00.000+0000",
                "serverTime": SERVER_TIME,
                "scmInfo": "0123456789abcdef0123456789abcdef01234567",
                "serverTitle": "pmhub test Jira",
            }
        )

    async def myself(request: web.Request) -> web.Response:
        return web.json_response(state.user_json(state.users[0]))

    async def fields(request: web.Request) -> web.Response:
        return web.json_response(FIELDS)

    async def get_project(request: web.Request) -> web.Response:
        wanted = request.match_info["projectIdOrKey"]
        project = next((p for p in state.projects.values() if wanted in (p["key"], p["id"])), None)
        if project is None:
            # Jira's answer for a project that is missing or not browsable: the same 404.
            message = f"No project could be found with key '{wanted}'."
            return error_response(404, message)
        shown = {k: v for k, v in project.items() if k != "counter"}
        shown["issueTypes"] = [
            {
                "self": f"{SITE}/rest/api/3/issuetype/{type_id}",
                "id": type_id,
                "description": "",
                "iconUrl": f"{SITE}/images/icons/issuetypes/task.svg",
                "name": issue_type["name"],
                "subtask": issue_type["subtask"],
                "hierarchyLevel": issue_type["hierarchyLevel"],
            }
            for type_id, issue_type in ISSUE_TYPES.items()
        ]
        return web.json_response(shown)

    async def priorities(request: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "self": f"{SITE}/rest/api/3/priority/{priority_id}",
                    "id": priority_id,
                    "name": name,
                    "description": name,
                    "statusColor": "#ffab00",
                    "iconUrl": f"{SITE}/images/icons/priorities/{name.lower()}.svg",
                }
                for priority_id, name in PRIORITIES.items()
            ]
        )

    async def create_issue(request: web.Request) -> web.Response:
        body = await _body(request)
        if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
            return error_response(400, "Can not deserialize the request: 'fields' is required.")
        issue, errors = build_issue(state, body, request.match_info["version"])
        if errors or issue is None:
            return error_response(400, errors=errors)
        return web.json_response(_created(issue, request), status=201)

    async def create_bulk(request: web.Request) -> web.Response:
        body = await _body(request)
        updates = body.get("issueUpdates") if isinstance(body, dict) else None
        if not isinstance(updates, list):
            return error_response(400, "Can not deserialize the request: 'issueUpdates'.")
        if len(updates) > BULK_LIMIT:
            return error_response(400, f"Cannot create more than {BULK_LIMIT} issues at once.")
        created: list[Json] = []
        failed: list[Json] = []
        for number, update in enumerate(updates):
            if not isinstance(update, dict) or not isinstance(update.get("fields"), dict):
                errors: dict[str, str] = {"fields": "'fields' is required."}
                issue = None
            else:
                issue, errors = build_issue(state, update, request.match_info["version"])
            if issue is None:
                failed.append(
                    {
                        "status": 400,
                        "elementErrors": {"errorMessages": [], "errors": errors},
                        "failedElementNumber": number,
                    }
                )
            else:
                created.append(_created(issue, request))
        status = 201 if created else 400
        return web.json_response({"issues": created, "errors": failed}, status=status)

    def _created(issue: Json, request: web.Request) -> Json:
        version = request.match_info["version"]
        return {
            "id": issue["id"],
            "key": issue["key"],
            "self": f"{SITE}/rest/api/{version}/issue/{issue['id']}",
        }

    async def get_issue(request: web.Request) -> web.Response:
        issue = find(request.match_info["issueIdOrKey"])
        if issue is None:
            return not_found()
        wanted = _multi(request.query.getall("fields", [])) or ["*all"]
        props = _multi(request.query.getall("properties", []))
        return web.json_response(
            render_issue(issue, request.match_info["version"], wanted, props, cloud=cloud())
        )

    async def edit_issue(request: web.Request) -> web.Response:
        issue = find(request.match_info["issueIdOrKey"])
        if issue is None:
            return not_found()
        body = await _body(request)
        if not isinstance(body, dict):
            return error_response(400, "The request body is missing.")
        errors = check_edit(state, issue, body, request.match_info["version"])
        if errors:
            return error_response(400, errors=errors)
        return web.Response(status=204)

    async def get_transitions(request: web.Request) -> web.Response:
        issue = find(request.match_info["issueIdOrKey"])
        if issue is None:
            return not_found()
        current = issue["fields"]["status"]["id"]
        listed = [
            {
                "id": transition_id,
                "name": name,
                "to": status_json(status_id),
                "hasScreen": False,
                "isGlobal": True,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
                "isLooped": False,
            }
            for transition_id, (name, status_id) in state.workflow.items()
            if status_id != current
        ]
        return web.json_response({"expand": "transitions", "transitions": listed})

    async def do_transition(request: web.Request) -> web.Response:
        issue = find(request.match_info["issueIdOrKey"])
        if issue is None:
            return not_found()
        body = await _body(request)
        transition = body.get("transition") if isinstance(body, dict) else None
        wanted = str(transition.get("id")) if isinstance(transition, dict) else ""
        target = state.workflow.get(wanted)
        if target is None or target[1] == issue["fields"]["status"]["id"]:
            return error_response(400, f"Transition id '{wanted}' is not valid for this issue.")
        issue["fields"]["status"] = status_json(target[1])
        issue["fields"]["updated"] = SERVER_TIME
        return web.Response(status=204)

    async def put_property(request: web.Request) -> web.Response:
        issue = find(request.match_info["issueIdOrKey"])
        if issue is None:
            return not_found()
        value = await _body(request)
        if value is None:
            return error_response(400, "The property value must be valid, non-empty JSON.")
        key = request.match_info["propertyKey"]
        existed = key in issue["properties"]
        issue["properties"][key] = value
        return web.Response(status=200 if existed else 201)

    async def get_property(request: web.Request) -> web.Response:
        issue = find(request.match_info["issueIdOrKey"])
        if issue is None:
            return not_found()
        key = request.match_info["propertyKey"]
        if key not in issue["properties"]:
            return error_response(404, f"The property with key '{key}' does not exist.")
        return web.json_response({"key": key, "value": issue["properties"][key]})

    async def user_search(request: web.Request) -> web.Response:
        wanted = (request.query.get("query") or request.query.get("username") or "").lower()
        if not wanted:
            return error_response(400, "One of 'query', 'accountId' or 'property' is required.")
        found = [
            state.user_json(user)
            for user in state.users
            if user["emailAddress"].lower().startswith(wanted)
            or user["name"].lower() == wanted
            or any(word.lower().startswith(wanted) for word in user["displayName"].split())
        ]
        start = int(request.query.get("startAt", 0))
        size = int(request.query.get("maxResults", DEFAULT_PAGE))
        return web.json_response(found[start : start + size])

    async def search_jql(request: web.Request) -> web.Response:
        if request.method == "POST":
            body = await _body(request)
            if not isinstance(body, dict):
                return error_response(400, "The request body is not valid JSON.")
            params = body
            wanted, props = list(body.get("fields") or []), list(body.get("properties") or [])
        else:
            params = dict(request.query)
            wanted = _multi(request.query.getall("fields", []))
            props = _multi(request.query.getall("properties", []))
        try:
            found = matching(str(params.get("jql") or ""))
            offset = _offset(params.get("nextPageToken"))
        except (JqlError, ValueError) as exc:
            return error_response(400, str(exc))
        size = min(int(params.get("maxResults") or DEFAULT_PAGE), state.max_page_size)
        page = found[offset : offset + size]
        version = request.match_info["version"]
        body_out: Json = {
            "issues": [
                render_issue(i, version, wanted or ["id"], props, cloud=cloud()) for i in page
            ],
            "isLast": offset + size >= len(found),
        }
        if not body_out["isLast"]:
            body_out["nextPageToken"] = _token(offset + size)
        return web.json_response(body_out)

    async def search_classic(request: web.Request) -> web.Response:
        if cloud():
            return error_response(
                410, "The requested API has been removed. Please migrate to /rest/api/3/search/jql."
            )
        try:
            found = matching(request.query.get("jql", ""))
        except JqlError as exc:
            return error_response(400, str(exc))
        start = int(request.query.get("startAt", 0))
        size = min(int(request.query.get("maxResults", DEFAULT_PAGE)), state.max_page_size)
        wanted = _multi(request.query.getall("fields", [])) or ["*navigable"]
        props = _multi(request.query.getall("properties", []))
        issues = [
            render_issue(i, request.match_info["version"], wanted, props, cloud=False)
            for i in found[start : start + size]
        ]
        return web.json_response(
            {"startAt": start, "maxResults": size, "total": len(found), "issues": issues}
        )

    api = "/rest/api/{version:[23]}"
    one = f"{api}/issue/{{issueIdOrKey}}"
    app.router.add_get(f"{api}/serverInfo", server_info)
    app.router.add_get(f"{api}/myself", myself)
    app.router.add_get(f"{api}/field", fields)
    app.router.add_get(f"{api}/project/{{projectIdOrKey}}", get_project)
    app.router.add_get(f"{api}/priority", priorities)
    app.router.add_post(f"{api}/issue", create_issue)
    app.router.add_post(f"{api}/issue/bulk", create_bulk)
    app.router.add_get(one, get_issue)
    app.router.add_put(one, edit_issue)
    app.router.add_get(f"{one}/transitions", get_transitions)
    app.router.add_post(f"{one}/transitions", do_transition)
    app.router.add_get(f"{one}/properties/{{propertyKey}}", get_property)
    app.router.add_put(f"{one}/properties/{{propertyKey}}", put_property)
    app.router.add_get(f"{api}/user/search", user_search)
    app.router.add_get(f"{api}/search/jql", search_jql)
    app.router.add_post(f"{api}/search/jql", search_jql)
    app.router.add_get(f"{api}/search", search_classic)
