"""`GET /api/v1/report?from=&to=&team=&format=`: the process per team and severity (issue 15).

The same rows `pmhub report` prints, computed by `hub.engine.report` from the store;
`format=text` answers the very table the command prints.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.engine.process import process_records
from hub.engine.report import BadQuery, build_report, format_table, parse_window
from hub.web.errors import error_response
from hub.web.keys import RUNTIME

FORMATS = ("json", "text")


async def report(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    query = request.query
    try:
        start, end = parse_window(query.get("from"), query.get("to"))
    except BadQuery as problem:
        return error_response(400, "bad_request", str(problem))
    fmt = query.get("format", "json")
    if fmt not in FORMATS:
        allowed = ", ".join(FORMATS)
        return error_response(
            400, "bad_request", f"unknown format {fmt[:20]!r} (allowed: {allowed})"
        )
    team = query.get("team") or None
    records = await process_records(runtime.engine, runtime.policies, runtime.clock())
    built = build_report(records, start, end, team)
    if fmt == "text":
        return web.Response(text=format_table(built), content_type="text/plain")
    return web.json_response(built.json())


def add_routes(app: web.Application, prefix: str) -> None:
    app.router.add_get(f"{prefix}/report", report)


# -- the OpenAPI description --------------------------------------------------------


def _share(what: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": what,
        "required": ["count", "out_of", "percent"],
        "properties": {
            "count": {"type": "integer"},
            "out_of": {"type": "integer"},
            "percent": {"type": ["integer", "null"], "description": "null when out_of is 0"},
        },
    }


def report_schema() -> dict[str, Any]:
    row = {
        "type": "object",
        "required": [
            "team",
            "severity",
            "postmortems",
            "meetings_on_time",
            "median_time_to_close_seconds",
            "follow_ups_done_on_time",
        ],
        "properties": {
            "team": {"type": "string", "description": "pmhub.yaml's team, 'none' if no team"},
            "severity": {"type": "string"},
            "postmortems": {"type": "integer"},
            "meetings_on_time": _share("meetings that ended by their deadline"),
            "median_time_to_close_seconds": {"type": ["number", "null"]},
            "follow_ups_done_on_time": _share("follow-ups done by their due date"),
        },
    }
    moment = {"type": ["string", "null"], "format": "date-time"}
    return {
        "type": "object",
        "required": ["from", "to", "team", "rows"],
        "properties": {
            "from": moment,
            "to": moment,
            "team": {"type": ["string", "null"]},
            "rows": {"type": "array", "items": row},
        },
    }


def report_paths(errors: dict[str, Any]) -> dict[str, Any]:
    when = "ISO 8601 date (midnight UTC) or date-time with its zone"
    parameters = [
        {"name": "from", "in": "query", "schema": {"type": "string"}, "description": when},
        {"name": "to", "in": "query", "schema": {"type": "string"}, "description": when},
        {"name": "team", "in": "query", "schema": {"type": "string"}},
        {"name": "format", "in": "query", "schema": {"type": "string", "enum": list(FORMATS)}},
    ]
    return {
        "/api/v1/report": {
            "get": {
                "summary": "The process per team and severity, over post-mortems of incidents "
                "resolved in [from, to): count, on-time meetings, median time to close, "
                "follow-ups done on time (format=text: the table `pmhub report` prints)",
                "parameters": parameters,
                "responses": {
                    "200": {
                        "description": "The report",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Report"}},
                            "text/plain": {"schema": {"type": "string"}},
                        },
                    },
                    "400": {
                        "description": "A bad from, to or format; the message says which",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                    **errors,
                },
            }
        }
    }
