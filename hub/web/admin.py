"""The admin API under `/api/v1`: bearer-token protected, JSON in and out."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from hub.jobs.queue import Job, JobState
from hub.model.incident_record import IncidentRecord
from hub.model.postmortem import PostMortem
from hub.policy import evaluate, plan_to_json
from hub.store import audit, records
from hub.store.state import load_incident
from hub.web import admin_actions, report
from hub.web.errors import error_response
from hub.web.keys import RUNTIME
from hub.web.openapi import INCIDENT_SUMMARY_FIELDS, openapi_document

PREFIX = "/api/v1"
PUBLIC_PATHS = frozenset({f"{PREFIX}/openapi.json"})
_DEFAULT_LIMIT = 100
_MAX_LIMIT = 1000
# Job ids are 64-bit signed integers in both stores; a larger number names no job (and
# would overflow SQLite's integer binding).
_MAX_JOB_ID = 2**63 - 1


def admin_auth_middleware() -> Middleware:
    """Every `/api/v1` route but the OpenAPI document needs `Authorization: Bearer <token>`."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(PREFIX) or request.path in PUBLIC_PATHS:
            return await handler(request)
        token = request.app[RUNTIME].settings.admin.token
        if token is None:
            return error_response(
                403, "admin_disabled", "the admin API is disabled: set admin.token"
            )
        supplied = request.headers.get("Authorization", "")
        scheme, _, value = supplied.partition(" ")
        expected = token.get_secret_value().encode()
        # compare_digest on bytes: constant time whatever the supplied value is. The raw
        # bytes as sent (aiohttp keeps bytes that are not UTF-8 as surrogate escapes).
        supplied_bytes = value.encode("utf-8", "surrogateescape")
        if scheme.lower() != "bearer" or not hmac.compare_digest(supplied_bytes, expected):
            return error_response(
                401,
                "unauthorized",
                "missing or wrong bearer token",
                headers={"WWW-Authenticate": 'Bearer realm="pmhub"'},
            )
        return await handler(request)

    return middleware


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state.value,
        "attempts": job.attempts,
        "dedupe_key": job.dedupe_key,
        "run_at": job.run_at.isoformat(),
        "lease_owner": job.lease_owner,
        "lease_until": job.lease_until.isoformat() if job.lease_until else None,
        "last_error": job.last_error,
        "payload": job.payload,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
    }


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", str(_DEFAULT_LIMIT))
    # ASCII digits only: `"²".isdigit()` is true and `int("²")` fails.
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= _MAX_LIMIT:
        raise web.HTTPBadRequest(reason=f"limit must be an integer from 1 to {_MAX_LIMIT}")
    return int(raw)


async def list_jobs(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    state_name = request.query.get("state")
    state: JobState | None = None
    if state_name is not None:
        allowed = [s.value for s in JobState]
        if state_name not in allowed:
            raise web.HTTPBadRequest(
                reason=f"unknown state {state_name!r} (allowed: {', '.join(allowed)})"
            )
        state = JobState(state_name)
    jobs = await runtime.queue.list_jobs(
        state=state, kind=request.query.get("kind"), limit=_limit(request)
    )
    return web.json_response({"jobs": [job_json(job) for job in jobs]})


def _path_id(request: web.Request) -> int:
    raw = request.match_info["job_id"]
    if not (raw.isascii() and raw.isdigit()) or int(raw) > _MAX_JOB_ID:
        raise web.HTTPNotFound(reason=f"no job {raw!r}")
    return int(raw)


async def get_job(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    job = await runtime.queue.get(_path_id(request))
    if job is None:
        return error_response(404, "not_found", "no such job")
    return web.json_response(job_json(job))


async def retry_job(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    job_id = _path_id(request)
    if not await runtime.queue.retry(job_id, runtime.clock()):
        job = await runtime.queue.get(job_id)
        if job is None:
            return error_response(404, "not_found", "no such job")
        return error_response(
            409, "conflict", f"job {job_id} is {job.state.value}; only dead jobs can be retried"
        )
    # Read it back before waking the worker, so the answer shows the job as retried.
    job = await runtime.queue.get(job_id)
    runtime.worker.wake()
    if job is None:
        return error_response(404, "not_found", "no such job")
    return web.json_response(job_json(job))


def _incident_summary(data: Mapping[str, Any]) -> dict[str, Any] | None:
    if not data:
        return None
    incident = IncidentRecord.from_json(data).incident
    return incident.model_dump(
        mode="json",
        include=set(INCIDENT_SUMMARY_FIELDS),
    )


async def list_incidents(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    rows = await records.list_incidents(runtime.engine, limit=_limit(request))
    summaries = [_incident_summary(row["data"]) for row in rows]
    return web.json_response({"incidents": [s for s in summaries if s is not None]})


async def get_incident(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    stored = await load_incident(runtime.engine, request.match_info["incident_id"])
    if stored is None:
        return error_response(404, "not_found", "no such incident")
    return web.json_response(stored.incident.model_dump(mode="json"))


async def list_postmortems(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    rows = await records.list_postmortems(runtime.engine, limit=_limit(request))
    return web.json_response(
        {
            "postmortems": [
                {"id": row["id"], "incident_id": row["incident_id"], "status": row["status"]}
                for row in rows
            ]
        }
    )


async def get_postmortem(request: web.Request) -> web.Response:
    """The post-mortem with its current plan: what pmhub will do next, and why."""
    runtime = request.app[RUNTIME]
    row = await records.get_postmortem(runtime.engine, request.match_info["postmortem_id"])
    if row is None:
        return error_response(404, "not_found", "no such post-mortem")
    postmortem = PostMortem.model_validate(row["data"])
    stored = await load_incident(runtime.engine, postmortem.incident_id)
    body: dict[str, Any] = {"id": row["id"], **postmortem.model_dump(mode="json"), "plan": None}
    if stored is not None:
        plan = evaluate(stored.incident, postmortem, runtime.policies, runtime.clock())
        rendered = plan_to_json(plan)
        # The incident's team and where its effects go (issue 15), when it has any.
        routing = {key: rendered[key] for key in ("team", "targets") if key in rendered}
        body["plan"] = {**rendered["postmortem"], **routing}
    return web.json_response(body)


async def get_postmortem_audit(request: web.Request) -> web.Response:
    """The post-mortem's audit trail, oldest first: every decision, its actor and rule."""
    runtime = request.app[RUNTIME]
    row = await records.get_postmortem(runtime.engine, request.match_info["postmortem_id"])
    if row is None:
        return error_response(404, "not_found", "no such post-mortem")
    entries = await audit.list_entries(runtime.engine, row["incident_id"], limit=_limit(request))
    return web.json_response({"entries": [_audit_json(entry) for entry in entries]})


def _audit_json(entry: audit.AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat() if entry.at else None,
        "action": entry.action,
        "actor": entry.actor,
        "reason": entry.reason,
        "rule": entry.rule,
        "detail": dict(entry.detail),
    }


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/openapi.json", openapi)
    app.router.add_get(f"{PREFIX}/jobs", list_jobs)
    app.router.add_get(f"{PREFIX}/jobs/{{job_id}}", get_job)
    app.router.add_post(f"{PREFIX}/jobs/{{job_id}}/retry", retry_job)
    app.router.add_get(f"{PREFIX}/incidents", list_incidents)
    app.router.add_get(f"{PREFIX}/incidents/{{incident_id}}", get_incident)
    app.router.add_get(f"{PREFIX}/postmortems", list_postmortems)
    app.router.add_get(f"{PREFIX}/postmortems/{{postmortem_id}}", get_postmortem)
    app.router.add_get(f"{PREFIX}/postmortems/{{postmortem_id}}/audit", get_postmortem_audit)
    admin_actions.add_routes(app, PREFIX)
    report.add_routes(app, PREFIX)  # issue 15: the process in numbers
