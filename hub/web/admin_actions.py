"""The admin API's write side: everything a person can do with `/postmortem`, scriptable.

Each request is one action of `hub.engine.actions.transitions` (the same code the Slack command
runs), so the guards, the lint and the audit log are the same whichever way a person
acts. A client may send `Idempotency-Key`: a repeated request with the same key is
answered as the first one was and changes nothing.
"""

from __future__ import annotations

import json
import secrets
from http import HTTPStatus
from typing import Any

from aiohttp import web

from hub.engine.actions import decisions
from hub.engine.actions.meeting_link import read_linked_event
from hub.engine.actions.transitions import ActionResult
from hub.intake.request_body import UnreadableBody, read_body
from hub.model.incident import Person
from hub.model.postmortem import PostMortemStatus
from hub.store.state import load_incident, postmortem_id
from hub.web.errors import error_response
from hub.web.keys import RUNTIME

ADMIN_ACTOR = Person(name="admin API")
_UTF8 = frozenset({"utf-8", "utf8"})
_TRANSITIONS = {"in_review", "reviewed", "closed"}
_PRIORITY_MAX = 10


async def _body(request: web.Request) -> dict[str, Any]:
    charset = request.charset
    if charset is not None and charset.lower() not in _UTF8:
        # JSON is UTF-8 (RFC 8259); an unknown charset must not reach a codec lookup.
        raise web.HTTPUnsupportedMediaType(reason=f"charset {charset!r} not accepted: use utf-8")
    try:
        raw = await read_body(request, request.app[RUNTIME].settings.server.body_timeout_seconds)
    except UnreadableBody as unreadable:
        raise _http_error(unreadable) from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; so is bad JSON
        raise web.HTTPBadRequest(reason="body is not valid JSON (UTF-8, sanely nested)") from None
    if not isinstance(document, dict):
        raise web.HTTPBadRequest(reason="body is not a JSON object")
    return document


def _http_error(unreadable: UnreadableBody) -> web.HTTPException:
    if unreadable.status == HTTPStatus.REQUEST_TIMEOUT:
        return web.HTTPRequestTimeout(reason=unreadable.message)
    return web.HTTPBadRequest(reason=unreadable.message)


def _text(document: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = document.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise web.HTTPBadRequest(reason=f"'{name}' must be a non-empty string")
    return value.strip()


def _flag(document: dict[str, Any], name: str) -> bool:
    value = document.get(name, False)
    if not isinstance(value, bool):
        raise web.HTTPBadRequest(reason=f"'{name}' must be true or false")
    return value


def _incident_id(request: web.Request) -> str:
    """`pm:<incident id>` names a post-mortem; its incident id follows the prefix."""
    pm_id = request.match_info["postmortem_id"]
    if not pm_id.startswith("pm:"):
        raise web.HTTPNotFound(reason=f"no post-mortem {pm_id!r}")
    return pm_id.removeprefix("pm:")


def _origin(request: web.Request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    return f"admin:{key}" if key else f"admin:{secrets.token_hex(12)}"


def _answer(result: ActionResult, *, refused_status: int, created: bool = False) -> web.Response:
    if result.incident is None:
        return error_response(404, "not_found", result.message)
    if not result.allowed:
        return error_response(refused_status, "refused", result.message)
    body: dict[str, Any] = {"message": result.message, "replayed": result.replayed}
    if result.postmortem is not None:
        body["postmortem"] = {
            "id": postmortem_id(result.postmortem.incident_id),
            **result.postmortem.model_dump(mode="json"),
        }
    return web.json_response(body, status=201 if created and not result.replayed else 200)


async def add_follow_up(request: web.Request) -> web.Response:
    document = await _body(request)
    summary = _text(document, "summary")
    priority = (_text(document, "priority") or "").upper()
    if not (
        priority.startswith("P") and priority[1:].isdigit() and int(priority[1:]) < _PRIORITY_MAX
    ):
        raise web.HTTPBadRequest(reason="'priority' must be P0 to P9")
    email = _text(document, "owner_email", required=False)
    owner = Person(email=email) if email else None
    actions = request.app[RUNTIME].actions
    result = await actions.add_follow_up(
        _incident_id(request),
        summary or "",
        priority,
        ADMIN_ACTOR,
        origin=_origin(request),
        owner=owner,
    )
    return _answer(result, refused_status=409, created=True)


async def declare_no_follow_ups(request: web.Request) -> web.Response:
    """`/postmortem followups none <reason>`: nothing to file, and why."""
    document = await _body(request)
    reason = _text(document, "reason") or ""
    actions = request.app[RUNTIME].actions
    result = await actions.declare_no_follow_ups(
        _incident_id(request), ADMIN_ACTOR, reason, origin=_origin(request)
    )
    return _answer(result, refused_status=409)


_ANSWERS = {
    "keep_postmortem": {"keep", "close"},
    "second_review": {"yes", "no"},
}


async def answer_question(request: web.Request) -> web.Response:
    """The questions pmhub asks in Slack, answered here instead (issue 13): keep a
    post-mortem that stopped being required (or close it as not needed), and whether a
    reopen after the meeting needs a second review."""
    document = await _body(request)
    question = _text(document, "question") or ""
    answer = _text(document, "answer") or ""
    allowed = _ANSWERS.get(question)
    if allowed is None:
        raise web.HTTPBadRequest(reason=f"'question' must be one of: {', '.join(_ANSWERS)}")
    if answer not in allowed:
        raise web.HTTPBadRequest(reason=f"'answer' must be one of: {', '.join(sorted(allowed))}")
    actions, incident_id, origin = (
        request.app[RUNTIME].actions,
        _incident_id(request),
        _origin(request),
    )
    if question == "keep_postmortem":
        result = await decisions.decide_requirement(
            actions,
            incident_id,
            "keep" if answer == "keep" else "close",
            ADMIN_ACTOR,
            origin=origin,
            reason=_text(document, "reason", required=False) or "",
        )
    else:
        result = await decisions.answer_second_review(
            actions, incident_id, answer == "yes", ADMIN_ACTOR, origin=origin
        )
    return _answer(result, refused_status=409)


async def set_external_message(request: web.Request) -> web.Response:
    document = await _body(request)
    body = _text(document, "body")
    actions = request.app[RUNTIME].actions
    result = await actions.set_external_message(
        _incident_id(request),
        body or "",
        ADMIN_ACTOR,
        origin=_origin(request),
        full_outage=_flag(document, "full_outage"),
    )
    return _answer(result, refused_status=422)


async def designate_owner(request: web.Request) -> web.Response:
    document = await _body(request)
    email = _text(document, "email")
    actions = request.app[RUNTIME].actions
    result = await actions.designate_owner(
        _incident_id(request),
        Person(email=email),
        ADMIN_ACTOR,
        origin=_origin(request),
        reason=_text(document, "reason", required=False) or "",
    )
    return _answer(result, refused_status=409)


async def transition(request: web.Request) -> web.Response:
    document = await _body(request)
    to = _text(document, "to") or ""
    if to not in _TRANSITIONS:
        raise web.HTTPBadRequest(reason=f"'to' must be one of: {', '.join(sorted(_TRANSITIONS))}")
    actions = request.app[RUNTIME].actions
    result = await actions.transition(
        _incident_id(request),
        PostMortemStatus(to),
        ADMIN_ACTOR,
        origin=_origin(request),
        reason=_text(document, "reason", required=False),
        override=_flag(document, "override"),
    )
    return _answer(result, refused_status=409)


async def link_meeting(request: web.Request) -> web.Response:
    """A meeting a person booked on the shared calendar becomes the post-mortem meeting."""
    document = await _body(request)
    link = _text(document, "event") or ""
    runtime = request.app[RUNTIME]
    stored = await load_incident(runtime.engine, _incident_id(request))
    route = runtime.policies.route_of(stored.incident) if stored else None
    found = await read_linked_event(
        runtime.calendar, link, calendar_id=route.calendar_id if route else None
    )
    if isinstance(found, str):
        return error_response(422, "refused", found)
    result = await runtime.actions.link_meeting(
        _incident_id(request), found, ADMIN_ACTOR, origin=_origin(request)
    )
    return _answer(result, refused_status=409)


def add_routes(app: web.Application, prefix: str) -> None:
    base = f"{prefix}/postmortems/{{postmortem_id}}"
    app.router.add_post(f"{base}/follow-ups", add_follow_up)
    app.router.add_put(f"{base}/follow-ups/none", declare_no_follow_ups)
    app.router.add_put(f"{base}/external-message", set_external_message)
    app.router.add_post(f"{base}/owner", designate_owner)
    app.router.add_put(f"{base}/meeting", link_meeting)
    app.router.add_post(f"{base}/transitions", transition)
    app.router.add_post(f"{base}/answers", answer_question)
