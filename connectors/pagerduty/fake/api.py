"""The PagerDuty fake's endpoints: what each answers, shaped as PagerDuty shapes it.

Split from the fake's `__init__.py` (state, seeding, faults, serving) to keep both readable.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from connectors.pagerduty.fake import FakePagerDuty

API = "https://api.pagerduty.com"
WEB = "https://acme.pagerduty.com"
DEFAULT_PAGE_SIZE = 25  # PagerDuty's default `limit`
MAX_PAGE_SIZE = 100  # and its ceiling
INCIDENT_INCLUDES = frozenset(
    {
        "acknowledgers",
        "agents",
        "assignees",
        "conference_bridge",
        "custom_fields",
        "escalation_policies",
        "first_trigger_log_entries",
        "priorities",
        "services",
        "teams",
        "users",
    }
)
Json = dict[str, Any]


def ref(kind: str, id_: str, summary: str, collection: str, web_path: str | None = None) -> Json:
    return {
        "id": id_,
        "type": f"{kind}_reference",
        "summary": summary,
        "self": f"{API}/{collection}/{id_}",
        "html_url": f"{WEB}/{web_path or collection}/{id_}",
    }


def error_body(message: str, code: int | None = None, errors: Sequence[str] = ()) -> Json:
    error: Json = {"message": message}
    if code is not None:
        error["code"] = code
    if errors:
        error["errors"] = list(errors)
    return {"error": error}


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


def invalid(*errors: str) -> web.Response:
    return json_response(400, error_body("Invalid Input Provided", 2001, errors))


def not_found() -> web.Response:
    return json_response(404, error_body("Not Found", 2100))


def page(
    request: web.Request, state: FakePagerDuty, key: str, items: Sequence[Json]
) -> web.Response:
    """Classic offset pagination: `limit`, `offset`, `more`, and `total` only on request."""
    try:
        limit = int(request.query.get("limit", DEFAULT_PAGE_SIZE))
        offset = int(request.query.get("offset", 0))
    except ValueError:
        return invalid("limit and offset must be integers")
    if limit < 1 or offset < 0:
        return invalid("limit must be positive and offset not negative")
    limit = min(limit, state.max_page_size)
    wants_total = request.query.get("total") == "true"
    return json_response(
        200,
        {
            key: list(items[offset : offset + limit]),
            "limit": limit,
            "offset": offset,
            "more": offset + limit < len(items),
            "total": len(items) if wants_total else None,
        },
    )


def _find_incident(state: FakePagerDuty, key: str) -> Json | None:
    # PagerDuty accepts the incident's id or its number.
    found = state.incidents.get(key)
    if found is None:
        found = next(
            (inc for inc in state.incidents.values() if str(inc["incident_number"]) == key), None
        )
    return found


def render_incident(state: FakePagerDuty, incident: Json, includes: Sequence[str]) -> Json:
    body = copy.deepcopy(incident)
    wanted = set(includes)
    if wanted & {"assignees", "users"}:
        for assignment in body["assignments"]:
            assignment["assignee"] = state.users.get(
                assignment["assignee"]["id"], assignment["assignee"]
            )
    if wanted & {"acknowledgers", "users"}:
        for ack in body["acknowledgements"]:
            ack["acknowledger"] = state.users.get(ack["acknowledger"]["id"], ack["acknowledger"])
    if "conference_bridge" in wanted and incident["id"] in state.bridges:
        body["conference_bridge"] = state.bridges[incident["id"]]
    first = body.get("first_trigger_log_entry")
    if "first_trigger_log_entries" in wanted and first:
        entries = state.log_entries.get(incident["id"], [])
        body["first_trigger_log_entry"] = next(
            (copy.deepcopy(e) for e in entries if e["id"] == first["id"]), first
        )
    return body


def _instant(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def add_routes(app: web.Application, state: FakePagerDuty) -> None:
    async def get_incident(request: web.Request) -> web.Response:
        incident = _find_incident(state, request.match_info["id"])
        if incident is None:
            return not_found()
        includes = request.query.getall("include[]", [])
        unknown = sorted(set(includes) - INCIDENT_INCLUDES)
        if unknown:
            return invalid(f"include[] does not support: {', '.join(unknown)}")
        return json_response(200, {"incident": render_incident(state, incident, includes)})

    async def list_log_entries(request: web.Request) -> web.Response:
        incident = _find_incident(state, request.match_info["id"])
        if incident is None:
            return not_found()
        entries = state.log_entries.get(incident["id"], [])
        if since := request.query.get("since"):
            # The start of the range, inclusive; times compared as instants.
            start = _instant(since)
            if start is None:
                return invalid("since must be an ISO 8601 date-time")
            entries = [e for e in entries if (_instant(e["created_at"]) or start) >= start]
        # PagerDuty lists an incident's log newest first.
        newest_first = sorted(entries, key=lambda entry: str(entry["created_at"]), reverse=True)
        return page(request, state, "log_entries", newest_first)

    async def get_user(request: web.Request) -> web.Response:
        user = state.users.get(request.match_info["id"])
        return json_response(200, {"user": user}) if user else not_found()

    async def list_oncalls(request: web.Request) -> web.Response:
        policies = set(request.query.getall("escalation_policy_ids[]", []))
        users = set(request.query.getall("user_ids[]", []))
        matching = [
            oncall
            for oncall in state.oncalls
            if (not policies or oncall["escalation_policy"]["id"] in policies)
            and (not users or oncall["user"]["id"] in users)
        ]
        return page(request, state, "oncalls", matching)

    async def create_note(request: web.Request) -> web.Response:
        incident = _find_incident(state, request.match_info["id"])
        if incident is None:
            return not_found()
        sender = request.headers.get("From", "")
        if not sender:
            return invalid('You must specify a user\'s email address in the "From" header')
        user = next((u for u in state.users.values() if u["email"].lower() == sender.lower()), None)
        if user is None:
            return invalid(f"Requester User Not Found: {sender}")
        try:
            payload = await request.json()
        except ValueError:
            return invalid("The request body is not JSON")
        note_in = payload.get("note") if isinstance(payload, dict) else None
        content = note_in.get("content") if isinstance(note_in, dict) else None
        if not isinstance(content, str) or not content.strip():
            return invalid("Note content can't be blank")
        notes = state.notes.setdefault(incident["id"], [])
        note = {
            "id": f"PN{len(notes) + 1:05d}{incident['id'][-2:]}",
            "user": ref("user", user["id"], user["name"], "users"),
            "channel": {"summary": "The PagerDuty website or APIs"},
            "content": content,
            "created_at": "2020-04-09T16:00:00Z",
            "updated_at": "2020-04-09T16:00:00Z",
        }
        notes.append(note)
        return json_response(200, {"note": note})

    async def list_notes(request: web.Request) -> web.Response:
        incident = _find_incident(state, request.match_info["id"])
        if incident is None:
            return not_found()
        return json_response(200, {"notes": state.notes.get(incident["id"], [])})

    async def list_abilities(request: web.Request) -> web.Response:
        # GET /abilities: the account's abilities; answered for any valid token.
        return json_response(200, {"abilities": ["teams", "read_only_users", "urgencies"]})

    app.router.add_get("/incidents/{id}", get_incident)
    app.router.add_get("/incidents/{id}/notes", list_notes)
    app.router.add_get("/incidents/{id}/log_entries", list_log_entries)
    app.router.add_post("/incidents/{id}/notes", create_note)
    app.router.add_get("/users/{id}", get_user)
    app.router.add_get("/oncalls", list_oncalls)
    app.router.add_get("/abilities", list_abilities)
