"""The Statuspage fake's routes: validation and handlers over `FakeStatuspage` state."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from connectors.statuspage.fake import FakeStatuspage

Json = dict[str, Any]
REALTIME_STATUSES = ("investigating", "identified", "monitoring", "resolved")
NAME_LIMIT, BODY_LIMIT, MAX_PAGE_SIZE = 255, 25_000, 100
NOT_FOUND = "The requested resource could not be found."


def error(
    status: int, message: str | list[str], headers: Mapping[str, str] | None = None
) -> web.Response:
    """The live API's error body: `{"error": "..."}`, a list for validation errors."""
    return web.json_response({"error": message}, status=status, headers=headers)


def problems(
    fields: Mapping[str, Any], components: Mapping[str, Json], *, create: bool
) -> list[str]:
    """Statuspage's validation of an incident, worded like its Rails messages."""
    found = []
    name = fields.get("name")
    if (create or "name" in fields) and not (isinstance(name, str) and name.strip()):
        found.append("Name can't be blank")
    elif isinstance(name, str) and len(name) > NAME_LIMIT:
        found.append(f"Name is too long (maximum is {NAME_LIMIT} characters)")
    if "status" in fields and fields["status"] not in REALTIME_STATUSES:
        found.append("Status is not included in the list")
    body = fields.get("body")
    if isinstance(body, str) and len(body) > BODY_LIMIT:
        found.append(f"Body is too long (maximum is {BODY_LIMIT} characters)")
    unknown = [c for c in fields.get("component_ids") or () if c not in components]
    if unknown:
        found.append(f"Components not found on this page: {', '.join(map(str, unknown))}")
    metadata = fields.get("metadata", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, dict) for v in metadata.values()):
        found.append("Metadata top-level values must be objects")
    return found


async def _fields(request: web.Request, wrapper: str) -> Json | web.Response:
    """The `{"<wrapper>": {...}}` object of a JSON body, or the 400 to answer."""
    try:
        body = await request.json()
    except ValueError:
        return error(400, "The request body is not valid JSON")
    inner = body.get(wrapper) if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        return error(400, f"param is missing or the value is empty: {wrapper}")
    return inner


def _int_param(request: web.Request, name: str, default: int) -> int:
    try:
        return int(request.query.get(name, default))
    except ValueError:
        raise web.HTTPBadRequest from None


def add_routes(app: web.Application, state: FakeStatuspage, prefix: str) -> None:  # noqa: PLR0915 - one closure per route
    def incident_of(request: web.Request) -> Json:
        """The addressed incident; 404 for another page or an unknown incident."""
        incident = state.incidents.get(request.match_info.get("incident_id", ""))
        if request.match_info["page_id"] != state.page_id or (
            "incident_id" in request.match_info and incident is None
        ):
            raise web.HTTPNotFound
        return incident or {}

    async def list_incidents(request: web.Request) -> web.Response:
        incident_of(request)
        limit = min(max(_int_param(request, "limit", MAX_PAGE_SIZE), 1), MAX_PAGE_SIZE)
        page = max(_int_param(request, "page", 1), 1)
        found = state.search(request.query.get("q"))
        return web.json_response(copy.deepcopy(found[(page - 1) * limit : page * limit]))

    async def create_incident(request: web.Request) -> web.Response:
        incident_of(request)
        fields = await _fields(request, "incident")
        if isinstance(fields, web.Response):
            return fields
        wrong = problems(fields, state.components, create=True)
        if wrong:
            return error(422, wrong)
        return web.json_response(copy.deepcopy(state.create_incident(fields)), status=201)

    async def show_incident(request: web.Request) -> web.Response:
        return web.json_response(copy.deepcopy(incident_of(request)))

    async def update_incident(request: web.Request) -> web.Response:
        incident = incident_of(request)
        fields = await _fields(request, "incident")
        if isinstance(fields, web.Response):
            return fields
        wrong = problems(fields, state.components, create=False)
        if wrong:
            return error(422, wrong)
        state.update_incident(incident, fields)
        return web.json_response(copy.deepcopy(incident))

    async def show_postmortem(request: web.Request) -> web.Response:
        postmortem = state.postmortems.get(incident_of(request)["id"])
        return web.json_response(copy.deepcopy(postmortem)) if postmortem else error(404, NOT_FOUND)

    async def save_postmortem(request: web.Request) -> web.Response:
        incident = incident_of(request)
        fields = await _fields(request, "postmortem")
        if isinstance(fields, web.Response):
            return fields
        if not isinstance(fields.get("body_draft"), str):
            return error(400, "param is missing or the value is empty: body_draft")
        return web.json_response(state.save_postmortem(incident, fields["body_draft"]))

    async def publish_postmortem(request: web.Request) -> web.Response:
        incident = incident_of(request)
        fields = await _fields(request, "postmortem")
        if isinstance(fields, web.Response):
            return fields
        if not (state.postmortems.get(incident["id"]) or {}).get("body_draft"):
            return error(400, "Postmortem body can't be blank")
        published = state.publish_postmortem(
            incident,
            notify_subscribers=bool(fields.get("notify_subscribers", False)),
            notify_twitter=bool(fields.get("notify_twitter", False)),
        )
        return web.json_response(published)

    async def show_page(request: web.Request) -> web.Response:
        incident_of(request)  # 404 for a page this key does not manage
        return web.json_response(
            {
                "id": state.page_id,
                "name": "pmhub fake status",
                "subdomain": "pmhub-fake",
                "url": "https://status.example.com",
                "time_zone": "Etc/UTC",
                "created_at": "2024-01-01T00:00:00.000Z",
                "updated_at": "2024-01-01T00:00:00.000Z",
            }
        )

    async def list_components(request: web.Request) -> web.Response:
        # Paginated (`page` from 1, `per_page` at most 100), as the live API is since 2023.
        incident_of(request)
        try:
            page = max(1, int(request.query.get("page", "1")))
            per_page = min(100, max(1, int(request.query.get("per_page", "100"))))
        except ValueError:
            return error(400, "page and per_page must be integers")
        everything = list(state.components.values())
        return web.json_response(everything[(page - 1) * per_page : page * per_page])

    app.router.add_get(f"{prefix}/pages/{{page_id}}", show_page)
    app.router.add_get(f"{prefix}/pages/{{page_id}}/components", list_components)
    incidents = f"{prefix}/pages/{{page_id}}/incidents"
    incident = incidents + "/{incident_id}"
    app.router.add_get(incidents, list_incidents)
    app.router.add_post(incidents, create_incident)
    app.router.add_get(incident, show_incident)
    app.router.add_patch(incident, update_incident)
    app.router.add_get(incident + "/postmortem", show_postmortem)
    app.router.add_put(incident + "/postmortem", save_postmortem)
    app.router.add_put(incident + "/postmortem/publish", publish_postmortem)
