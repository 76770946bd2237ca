"""The OpenAPI document says what the admin API does: real answers of every operation,
the errors included, validated against the document the daemon serves (openapi-core)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from hub.errors import Permanent
from hub.jobs.queue import Job
from tests.support.daemon import Daemon, running_daemon
from tests.web.test_admin_actions import _config, _sev1_with_postmortem

PM = "/api/v1/postmortems/pm:pagerduty:P1042"


class Checked:
    """Sends requests to the daemon and validates each answer against its document."""

    def __init__(self, daemon: Daemon, document: dict[str, Any]) -> None:
        self.daemon, self.document = daemon, document
        self.api = OpenAPI.from_dict(document)
        self.seen: set[tuple[str, str, int]] = set()

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        expect: int,
    ) -> Any:
        sent = {**self.daemon.admin_headers(), **(headers or {})}
        response = await self.daemon.client.request(
            method, path, json=json, data=data, headers=sent
        )
        body = await response.read()
        assert response.status == expect, (method, path, response.status, body[:300])
        location, _, query = path.partition("?")
        args = dict(part.split("=", 1) for part in query.split("&")) if query else {}
        request = MockRequest("http://localhost", method.lower(), location, args=args)
        answer = MockResponse(body, status_code=response.status, content_type=response.content_type)
        result = self.api.unmarshal_response(request, answer)
        assert not result.errors, (method, path, response.status, result.errors)
        self.seen.add((method.lower(), _template(self.document, location), response.status))
        return (
            None
            if not body or response.content_type != "application/json"
            else await response.json()
        )


def _template(document: dict[str, Any], path: str) -> str:
    parts = path.strip("/").split("/")
    for template in document["paths"]:
        wanted = template.strip("/").split("/")
        if len(wanted) == len(parts) and all(
            w.startswith("{") or w == p for w, p in zip(wanted, parts, strict=True)
        ):
            return str(template)
    raise AssertionError(f"{path} is no documented path")


async def test_every_operation_answers_as_documented(tmp_path: Path, db_url: str) -> None:
    async def doomed(job: Job) -> None:
        raise Permanent("the vendor said no")

    config = _config(tmp_path, db_url)
    async with running_daemon(
        config, run_worker=False, extra_handlers={"doomed": doomed}
    ) as daemon:
        await _sev1_with_postmortem(daemon)
        document = await (await daemon.client.get("/api/v1/openapi.json")).json()
        api = Checked(daemon, document)
        queue = daemon.runtime.queue
        pending = await queue.enqueue("anything", {})
        dead = await queue.enqueue("doomed", {})
        [leased] = [
            job for job in await queue.lease("t", limit=1000, lease_seconds=30) if job.id == dead
        ]
        await queue.fail(leased, "t", "Permanent: no", retry_at=None)

        await api.call("GET", "/api/v1/jobs?state=dead", expect=200)
        await api.call("GET", "/api/v1/jobs?state=zombie", expect=400)
        await api.call("GET", "/api/v1/jobs?limit=%C2%B2", expect=400)
        await api.call("GET", f"/api/v1/jobs/{pending}", expect=200)
        await api.call("GET", "/api/v1/jobs/99999999999999999999999", expect=404)
        await api.call("POST", f"/api/v1/jobs/{pending}/retry", expect=409)
        await api.call("POST", f"/api/v1/jobs/{dead}/retry", expect=200)
        await api.call("POST", "/api/v1/jobs/424242/retry", expect=404)
        await api.call("GET", "/api/v1/jobs", headers={"Authorization": "Bearer nope"}, expect=401)

        await api.call("GET", "/api/v1/incidents", expect=200)
        await api.call("GET", "/api/v1/incidents?limit=0", expect=400)
        await api.call("GET", "/api/v1/incidents/pagerduty:P1042", expect=200)
        await api.call("GET", "/api/v1/incidents/pagerduty:NOPE", expect=404)
        await api.call("GET", "/api/v1/postmortems", expect=200)
        await api.call("GET", "/api/v1/postmortems?limit=1001", expect=400)
        await api.call("GET", PM, expect=200)
        await api.call("GET", "/api/v1/postmortems/pm:nope", expect=404)
        await api.call("GET", f"{PM}/audit", expect=200)
        await api.call("GET", f"{PM}/audit?limit=x", expect=400)
        await api.call("GET", "/api/v1/postmortems/pm:nope/audit", expect=404)
        await api.call("GET", "/api/v1/report", expect=200)
        await api.call("GET", "/api/v1/report?format=text", expect=200)
        await api.call("GET", "/api/v1/report?from=yesterday", expect=400)

        keyed = {"Idempotency-Key": "fu-1"}
        follow_up = {"summary": "Alert on 5xx", "priority": "P1"}
        await api.call("POST", f"{PM}/follow-ups", json=follow_up, headers=keyed, expect=201)
        await api.call("POST", f"{PM}/follow-ups", json=follow_up, headers=keyed, expect=200)
        await api.call("POST", f"{PM}/follow-ups", json={"summary": "x"}, expect=400)
        await api.call("PUT", f"{PM}/follow-ups/none", json={"reason": "none"}, expect=409)
        await api.call("PUT", f"{PM}/follow-ups/none", json={}, expect=400)
        outage = {"body": "A full outage of checkout for 5 hours."}
        await api.call("PUT", f"{PM}/external-message", json=outage, expect=422)
        calm = {"body": "Checkout was degraded for some customers."}
        await api.call("PUT", f"{PM}/external-message", json=calm, expect=200)
        await api.call("POST", f"{PM}/owner", json={"email": "carol@example.com"}, expect=200)
        await api.call(
            "POST", "/api/v1/postmortems/pm:x:y/owner", json={"email": "a@b.c"}, expect=404
        )
        odd_charset = {"Content-Type": "application/json; charset=nope"}
        await api.call("POST", f"{PM}/owner", data=b"{}", headers=odd_charset, expect=415)
        await api.call("PUT", f"{PM}/meeting", json={"event": "nothing-booked"}, expect=422)
        await api.call("POST", f"{PM}/transitions", json={"to": "in_review"}, expect=409)
        await api.call("POST", f"{PM}/transitions", json={"to": "done"}, expect=400)
        question = {"question": "second_review", "answer": "yes"}
        await api.call("POST", f"{PM}/answers", json=question, expect=409)
        await api.call("POST", f"{PM}/answers", json={"question": "why"}, expect=400)

        documented = {
            (method, template)
            for template, item in document["paths"].items()
            for method in item
            if method in {"get", "put", "post", "delete", "patch"}
        }
        assert documented == {(method, template) for method, template, _ in api.seen}
