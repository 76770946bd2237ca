"""Loopback abuse of the webhook and admin endpoints (issue 10 §3): a 4xx with a JSON
error for each class of request that used to be an unauthenticated 500."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pytest

from hub.jobs.queue import JobState
from hub.store.state import load_incident
from tests.support.daemon import ADMIN_TOKEN, Daemon, running_daemon, settle, write_config
from tests.support.raw_http import RawAnswer, raw_request, send_raw
from tests.support.signing import pagerduty_delivery, pagerduty_signature

URL = "/webhooks/pagerduty"
JSON_TYPE = ("Content-Type", b"application/json")


def _port(daemon: Daemon) -> int:
    port = daemon.client.server.port
    assert port is not None
    return port


def _error(answer: RawAnswer, status: int, code: str) -> None:
    assert answer.status == status, answer.body
    assert answer.json()["error"]["code"] == code


async def test_signature_header_that_is_not_utf8_is_401(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        request = raw_request(
            "POST", URL, [JSON_TYPE, ("X-PagerDuty-Signature", b"v1=\xe9")], b"{}"
        )
        _error(await send_raw(_port(daemon), request), 401, "malformed_signature")


async def test_signed_delivery_whose_id_is_not_utf8_is_400(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        body, headers = pagerduty_delivery()
        signature = headers["X-PagerDuty-Signature"].encode()
        request = raw_request(
            "POST",
            URL,
            [JSON_TYPE, ("X-PagerDuty-Signature", signature), ("X-Webhook-Id", b"id-\xe9")],
            body,
        )
        answer = await send_raw(_port(daemon), request)
        _error(answer, 400, "malformed_body")
        assert "x-webhook-id" in answer.json()["error"]["message"].lower()


async def test_bearer_token_that_is_not_utf8_is_401(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        request = raw_request("GET", "/api/v1/jobs", [("Authorization", b"Bearer \xe9")])
        _error(await send_raw(_port(daemon), request), 401, "unauthorized")
        # The right token still opens the door: raw bytes, compared as bytes.
        right = raw_request(
            "GET", "/api/v1/jobs", [("Authorization", b"Bearer " + ADMIN_TOKEN.encode())]
        )
        assert (await send_raw(_port(daemon), right)).status == 200


async def test_body_that_is_not_what_its_content_encoding_says_is_400(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        body, headers = pagerduty_delivery()
        headers["Content-Encoding"] = "gzip"
        response = await daemon.client.post(URL, data=body, headers=headers)
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "malformed_body"
        # A body that is gzip is read as the bytes it holds (and signed as those).
        headers["Content-Encoding"] = "gzip"
        response = await daemon.client.post(URL, data=gzip.compress(body), headers=headers)
        assert response.status == 202
        admin = {**daemon.admin_headers(), "Content-Encoding": "gzip"}
        response = await daemon.client.post(
            "/api/v1/postmortems/pm:x/owner", data=b"{}", headers=admin
        )
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "bad_request"
    # Answered, not raised: no traceback in the log for a request anyone can send.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("limit", ["%C2%B2", "%D9%A3", "1e3", "99999999999999999999999"])
async def test_limit_that_is_not_ascii_digits_is_400(
    tmp_path: Path, db_url: str, limit: str
) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        for path in ("/api/v1/jobs", "/api/v1/incidents", "/api/v1/postmortems"):
            response = await daemon.client.get(
                f"{path}?limit={limit}", headers=daemon.admin_headers()
            )
            assert response.status == 400, path
            assert "limit must be" in (await response.json())["error"]["message"]


@pytest.mark.parametrize("job_id", ["99999999999999999999999", "9223372036854775808", "%C2%B2"])
async def test_job_id_out_of_range_is_404(tmp_path: Path, db_url: str, job_id: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        got = await daemon.client.get(f"/api/v1/jobs/{job_id}", headers=daemon.admin_headers())
        assert got.status == 404
        retried = await daemon.client.post(
            f"/api/v1/jobs/{job_id}/retry", headers=daemon.admin_headers()
        )
        assert retried.status == 404
        assert (await retried.json())["error"]["code"] == "not_found"


async def test_admin_body_in_an_unknown_charset_is_415(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        headers = {**daemon.admin_headers(), "Content-Type": "application/json; charset=nope"}
        response = await daemon.client.post(
            "/api/v1/postmortems/pm:x/owner", data=b'{"email": "a@example.com"}', headers=headers
        )
        assert response.status == 415
        assert (await response.json())["error"]["code"] == "unsupported_media_type"


async def test_admin_body_nested_absurdly_deep_is_400(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        deep = b"[" * 32_000 + b"]" * 32_000  # under the test's 64 KiB body limit
        response = await daemon.client.post(
            "/api/v1/postmortems/pm:x/owner",
            data=deep,
            headers={**daemon.admin_headers(), "Content-Type": "application/json"},
        )
        assert response.status == 400
        assert "not valid JSON" in (await response.json())["error"]["message"]


async def test_title_with_a_lone_surrogate_is_ingested_with_it_replaced(
    tmp_path: Path, db_url: str
) -> None:
    async with running_daemon(write_config(tmp_path, db_url)) as daemon:
        body, headers = pagerduty_delivery(incident_id="PSURR01")
        # What JavaScript's JSON makes of an emoji cut in half: valid JSON, not valid text.
        body = body.replace(b'"Checkout API 5xx"', b'"\\ud800 x"')
        headers["X-PagerDuty-Signature"] = pagerduty_signature(body)
        response = await daemon.client.post(URL, data=body, headers=headers)
        assert response.status == 202
        await settle(daemon, max_seconds=10)
        [job] = await daemon.runtime.queue.list_jobs(kind="ingest", limit=10)
        assert job.state is JobState.DONE, job.last_error
        stored = await load_incident(daemon.runtime.engine, "pagerduty:PSURR01")
        assert stored is not None
        assert stored.incident.title == "\ufffd x"
        shown = await daemon.client.get(
            "/api/v1/incidents/pagerduty:PSURR01", headers=daemon.admin_headers()
        )
        assert json.loads(await shown.read())["title"] == "\ufffd x"


async def test_a_nul_in_the_path_or_query_is_a_400_naming_it_not_a_500(
    tmp_path: Path, db_url: str
) -> None:
    """Found by the fuzz test on PostgreSQL: `GET /api/v1/incidents/%00` reached the
    store, whose text cannot hold a NUL, and the caller saw a 500."""
    async with running_daemon(write_config(tmp_path, db_url)) as daemon:
        for path in ("/api/v1/incidents/%00", "/api/v1/incidents?source=%00"):
            response = await daemon.client.get(path, headers=daemon.admin_headers())
            assert response.status == 400, path
            body = json.loads(await response.read())
            assert "NUL" in json.dumps(body), body
