"""The OpenAPI 3.1 document of the admin API, served at `/api/v1/openapi.json`.

Model schemas come from the pydantic types themselves, so the document cannot drift
from what the endpoints return.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from hub import __version__
from hub.model import Incident
from hub.web.report import report_paths, report_schema

_REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(model=name)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": {"$ref": "#/components/responses/Disabled"},
}
_NOT_FOUND = {"404": _json(_ref("Error"), "No such object")}
_BAD_LIMIT = {
    "400": _json(_ref("Error"), "A bad query value (limit, state); the message says which")
}
# What the admin API answers any request body it cannot read (the actions have one).
_BODY_ERRORS = {
    "408": _json(_ref("Error"), "The body did not arrive within server.body_timeout_seconds"),
    "413": _json(_ref("Error"), "The body is over server.max_body_bytes"),
    "415": _json(_ref("Error"), "The body's charset is not UTF-8"),
}
# The fields of an incident a listing shows (`GET /api/v1/incidents`).
INCIDENT_SUMMARY_FIELDS = (
    "id",
    "source",
    "reference",
    "title",
    "severity",
    "status",
    "resolved_at",
)
_LIMIT = {
    "name": "limit",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
}


def _job_schema() -> dict[str, Any]:
    nullable_time = {"type": ["string", "null"], "format": "date-time"}
    return {
        "type": "object",
        "required": ["id", "kind", "state", "attempts", "run_at", "payload"],
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string"},
            "state": {"type": "string", "enum": ["pending", "running", "done", "dead"]},
            "attempts": {"type": "integer"},
            "dedupe_key": {"type": ["string", "null"]},
            "run_at": {"type": "string", "format": "date-time"},
            "lease_owner": {"type": ["string", "null"]},
            "lease_until": nullable_time,
            "last_error": {"type": ["string", "null"]},
            "payload": {"type": "object"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    }


def _components() -> dict[str, Any]:
    incident = Incident.model_json_schema(ref_template=_REF, mode="serialization")
    schemas: dict[str, Any] = dict(incident.pop("$defs", {}))
    schemas["Incident"] = incident
    schemas["IncidentSummary"] = {
        "type": "object",
        "description": "An incident as a listing shows it; GET /api/v1/incidents/{id} has it all.",
        "required": list(INCIDENT_SUMMARY_FIELDS),
        "properties": {name: incident["properties"][name] for name in INCIDENT_SUMMARY_FIELDS},
        "additionalProperties": False,
    }
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }
        },
    }
    schemas["Job"] = _job_schema()
    schemas["ActionResult"] = {
        "type": "object",
        "required": ["message", "replayed"],
        "properties": {
            "message": {"type": "string"},
            "replayed": {"type": "boolean"},
            "postmortem": _ref("PostMortem"),
        },
    }
    nullable_text = {"type": ["string", "null"]}
    schemas["AuditEntry"] = {
        "type": "object",
        "required": ["at", "action", "actor", "reason", "rule", "detail"],
        "properties": {
            "at": {"type": ["string", "null"], "format": "date-time"},
            "action": {"type": "string"},
            "actor": {"type": "string", "description": "a person, or 'pmhub' for the policy"},
            "reason": {"type": "string"},
            "rule": nullable_text,
            "detail": {"type": "object", "additionalProperties": True},
        },
    }
    schemas["Report"] = report_schema()  # issue 15: the process in numbers
    schemas["PostMortemSummary"] = {
        "type": "object",
        "required": ["id", "incident_id", "status"],
        "properties": {
            "id": {"type": "string"},
            "incident_id": {"type": "string"},
            "status": {"type": "string"},
        },
    }
    schemas["PostMortem"] = {
        "type": "object",
        "description": "A post-mortem with its status, owner, meeting and plan.",
        "additionalProperties": True,
    }
    return {
        "schemas": schemas,
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "responses": {
            "Unauthorized": _json(_ref("Error"), "Missing or wrong bearer token"),
            "Disabled": _json(_ref("Error"), "The admin API is disabled (no admin.token)"),
        },
    }


def _list_of(name: str, key: str) -> dict[str, Any]:
    return {"type": "object", "properties": {key: {"type": "array", "items": _ref(name)}}}


def _paths() -> dict[str, Any]:
    job_id = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    incident_id = {
        "name": "incident_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    pm_id = {"name": "postmortem_id", "in": "path", "required": True, "schema": {"type": "string"}}
    state = {
        "name": "state",
        "in": "query",
        "schema": {"type": "string", "enum": ["pending", "running", "done", "dead"]},
    }
    kind = {"name": "kind", "in": "query", "schema": {"type": "string"}}
    return {
        "/api/v1/jobs": {
            "get": {
                "summary": "List jobs, newest first (e.g. the dead letters: ?state=dead)",
                "parameters": [state, kind, _LIMIT],
                "responses": {
                    "200": _json(_list_of("Job", "jobs"), "Jobs"),
                    **_BAD_LIMIT,
                    **_ERRORS,
                },
            }
        },
        "/api/v1/jobs/{job_id}": {
            "get": {
                "summary": "One job",
                "parameters": [job_id],
                "responses": {"200": _json(_ref("Job"), "The job"), **_ERRORS, **_NOT_FOUND},
            }
        },
        "/api/v1/jobs/{job_id}/retry": {
            "post": {
                "summary": "Send a dead job back to the queue with its attempts reset",
                "parameters": [job_id],
                "responses": {
                    "200": _json(_ref("Job"), "The job, pending again"),
                    "409": _json(_ref("Error"), "The job is not dead"),
                    **_ERRORS,
                    **_NOT_FOUND,
                },
            }
        },
        "/api/v1/incidents": {
            "get": {
                "summary": "Incidents pmhub knows, most recently updated first",
                "parameters": [_LIMIT],
                "responses": {
                    "200": _json(_list_of("IncidentSummary", "incidents"), "Incident summaries"),
                    **_BAD_LIMIT,
                    **_ERRORS,
                },
            }
        },
        "/api/v1/incidents/{incident_id}": {
            "get": {
                "summary": "One canonical incident, with its people and their roles",
                "parameters": [incident_id],
                "responses": {
                    "200": _json(_ref("Incident"), "The incident"),
                    **_ERRORS,
                    **_NOT_FOUND,
                },
            }
        },
        "/api/v1/postmortems": {
            "get": {
                "summary": "Post-mortems, most recently updated first",
                "parameters": [_LIMIT],
                "responses": {
                    "200": _json(_list_of("PostMortemSummary", "postmortems"), "Post-mortems"),
                    **_BAD_LIMIT,
                    **_ERRORS,
                },
            }
        },
        "/api/v1/postmortems/{postmortem_id}": {
            "get": {
                "summary": "One post-mortem with its current plan",
                "parameters": [pm_id],
                "responses": {
                    "200": _json(_ref("PostMortem"), "The post-mortem"),
                    **_ERRORS,
                    **_NOT_FOUND,
                },
            }
        },
        "/api/v1/postmortems/{postmortem_id}/audit": {
            "get": {
                "summary": "The post-mortem's audit trail, oldest first, each entry with its rule",
                "parameters": [pm_id, _LIMIT],
                "responses": {
                    "200": _json(_list_of("AuditEntry", "entries"), "Audit entries"),
                    **_BAD_LIMIT,
                    **_ERRORS,
                    **_NOT_FOUND,
                },
            }
        },
    }


def _action(summary: str, body: dict[str, Any], refused: tuple[str, str]) -> dict[str, Any]:
    pm_id = {"name": "postmortem_id", "in": "path", "required": True, "schema": {"type": "string"}}
    key = {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}
    return {
        "summary": summary,
        "parameters": [pm_id, key],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "200": _json(_ref("ActionResult"), "Done (or replayed: the same Idempotency-Key)"),
            "400": _json(_ref("Error"), "The body is malformed; the message names the field"),
            refused[0]: _json(_ref("Error"), refused[1]),
            **_BODY_ERRORS,
            **_ERRORS,
            **_NOT_FOUND,
        },
    }


def _creating(operation: dict[str, Any]) -> dict[str, Any]:
    created = _json(_ref("ActionResult"), "Created (a replay of the same Idempotency-Key: 200)")
    return operation | {"responses": {"201": created, **operation["responses"]}}


def _linking(operation: dict[str, Any]) -> dict[str, Any]:
    unreadable = _json(_ref("Error"), "No such event on the calendar, cancelled, or untimed")
    return operation | {"responses": {**operation["responses"], "422": unreadable}}


def _action_paths() -> dict[str, Any]:
    string = {"type": "string"}
    base = "/api/v1/postmortems/{postmortem_id}"
    follow_up = {
        "type": "object",
        "required": ["summary", "priority"],
        "properties": {
            "summary": string,
            "priority": {"type": "string", "pattern": "^[Pp][0-9]$"},
            "owner_email": string,
        },
    }
    none = {
        "type": "object",
        "required": ["reason"],
        "properties": {"reason": {"type": "string", "minLength": 1}},
    }
    message = {
        "type": "object",
        "required": ["body"],
        "properties": {"body": string, "full_outage": {"type": "boolean", "default": False}},
    }
    owner = {
        "type": "object",
        "required": ["email"],
        "properties": {"email": string, "reason": string},
    }
    link = {
        "type": "object",
        "required": ["event"],
        "properties": {
            "event": {
                "type": "string",
                "description": "the link of an event on the shared post-mortem calendar, or its id",
            }
        },
    }
    move = {
        "type": "object",
        "required": ["to"],
        "properties": {
            "to": {"type": "string", "enum": ["in_review", "reviewed", "closed"]},
            "reason": string,
            "override": {"type": "boolean", "default": False},
        },
    }
    answer = {
        "type": "object",
        "required": ["question", "answer"],
        "properties": {
            "question": {"type": "string", "enum": ["keep_postmortem", "second_review"]},
            "answer": {
                "type": "string",
                "enum": ["keep", "close", "yes", "no"],
                "description": "keep_postmortem: keep | close; second_review: yes | no",
            },
            "reason": string,
        },
    }
    return {
        f"{base}/answers": {
            "post": _action(
                "Answer a question pmhub asked: keep a post-mortem that is no longer "
                "required (or close it as not needed); a second review after a reopen",
                answer,
                ("409", "Nothing to decide, or decided already"),
            )
        },
        f"{base}/follow-ups": {
            "post": _creating(
                _action("Add a follow-up", follow_up, ("409", "The post-mortem is closed"))
            )
        },
        f"{base}/follow-ups/none": {
            "put": _action(
                "State that there are no follow-ups to file, and why (lets it close)",
                none,
                ("409", "Refused: closed, or follow-ups are recorded"),
            )
        },
        f"{base}/external-message": {
            "put": _action(
                "Write the external message (linted)", message, ("422", "Refused by the lint")
            )
        },
        f"{base}/owner": {
            "post": _action("Designate or hand off the owner", owner, ("409", "Refused"))
        },
        f"{base}/meeting": {
            "put": _linking(
                _action(
                    "Link a meeting a person booked (read from the shared calendar)",
                    link,
                    ("409", "Refused: no meeting in this post-mortem, or it is closed"),
                )
            )
        },
        f"{base}/transitions": {
            "post": _action("Move the post-mortem on", move, ("409", "A guard refused it"))
        },
    }


@cache
def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pmhub admin API",
            "version": __version__,
            "description": "Operate pmhub: dead letters, incidents, post-mortems.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {**_paths(), **_action_paths(), **report_paths(_ERRORS)},
        "components": _components(),
    }
