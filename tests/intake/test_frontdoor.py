"""The shared webhook front door: what each kind of request gets back, and what is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from hub.intake.inbox import count_deliveries
from hub.jobs.queue import JobState
from tests.support.daemon import running_daemon, settle, write_config
from tests.support.signing import pagerduty_delivery, pagerduty_signature

URL = "/webhooks/pagerduty"


async def test_authentic_delivery_is_stored_once_and_acknowledged(
    tmp_path: Path, db_url: str
) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        body, headers = pagerduty_delivery(webhook_id="delivery-1")
        first = await daemon.client.post(URL, data=body, headers=headers)
        assert first.status == 202
        assert (await first.json())["duplicate"] is False
        # A redelivery (PagerDuty retries on timeouts) is acknowledged and changes nothing.
        again = await daemon.client.post(URL, data=body, headers=headers)
        assert again.status == 202
        assert (await again.json())["duplicate"] is True
        assert await count_deliveries(daemon.runtime.engine, source="pagerduty") == 1
        assert len(await daemon.runtime.queue.list_jobs(kind="ingest", limit=10)) == 1


async def test_stored_delivery_is_ingested_by_the_worker(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url)) as daemon:
        body, headers = pagerduty_delivery()
        response = await daemon.client.post(URL, data=body, headers=headers)
        assert response.status == 202
        await settle(daemon, max_seconds=10)
        jobs = await daemon.runtime.queue.list_jobs(kind="ingest", limit=10)
        assert [job.state for job in jobs] == [JobState.DONE]


async def test_body_over_the_limit_is_413(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        body, headers = pagerduty_delivery(extra_data={"padding": "x" * 70_000})
        response = await daemon.client.post(URL, data=body, headers=headers)
        assert response.status == 413
        assert (await response.json())["error"]["code"] == "payload_too_large"
        assert await count_deliveries(daemon.runtime.engine) == 0


async def test_streamed_body_over_the_limit_is_413(tmp_path: Path, db_url: str) -> None:
    """Without a Content-Length the limit still holds while reading."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 8192

    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        _, headers = pagerduty_delivery()
        response = await daemon.client.post(URL, data=chunks(), headers=headers)
        assert response.status == 413
        assert await count_deliveries(daemon.runtime.engine) == 0


async def test_wrong_content_type_is_415(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        body, headers = pagerduty_delivery()
        headers["Content-Type"] = "text/plain"
        response = await daemon.client.post(URL, data=body, headers=headers)
        assert response.status == 415
        assert "application/json" in (await response.json())["error"]["message"]


async def test_unknown_source_is_404(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        body, headers = pagerduty_delivery()
        response = await daemon.client.post("/webhooks/opsgenie", data=body, headers=headers)
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "unknown_source"


async def test_forged_signature_is_401_and_nothing_is_stored(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        body, headers = pagerduty_delivery(secret="not-the-configured-secret")
        response = await daemon.client.post(URL, data=body, headers=headers)
        assert response.status == 401
        assert set((await response.json())["error"]) == {"code", "message"}
        assert await count_deliveries(daemon.runtime.engine) == 0


async def test_malformed_json_from_an_authentic_sender_is_400(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        _, headers = pagerduty_delivery()
        body = b'{"event": '
        headers["X-PagerDuty-Signature"] = pagerduty_signature(body)
        response = await daemon.client.post(URL, data=body, headers=headers)
        assert response.status == 400
        assert await count_deliveries(daemon.runtime.engine) == 0


async def test_get_on_the_webhook_route_is_a_json_405(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        response = await daemon.client.get(URL)
        assert response.status == 405
        assert (await response.json())["error"]["code"] == "method_not_allowed"
