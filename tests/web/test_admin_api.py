"""The admin API: authentication, the dead-letter workflow, reading incidents back."""

from __future__ import annotations

from pathlib import Path

import pytest
from openapi_spec_validator import validate

from hub.errors import Permanent
from hub.jobs.queue import Job, JobState
from tests.support.daemon import Daemon, running_daemon, write_config


async def _run_until(daemon: Daemon, job_id: int, state: JobState) -> None:
    """Run the daemon's jobs until it is quiet; then the job must be in `state`."""
    await daemon.runtime.worker.run_until_idle(max_seconds=10)
    job = await daemon.runtime.queue.get(job_id)
    assert job is not None
    assert job.state is state


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", "Basic YWRtaW46YWRtaW4=", "Bearer", ""],
)
async def test_admin_api_needs_the_bearer_token(
    tmp_path: Path, db_url: str, authorization: str | None
) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        headers = {"Authorization": authorization} if authorization is not None else {}
        response = await daemon.client.get("/api/v1/jobs", headers=headers)
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_admin_api_is_disabled_without_a_configured_token(
    tmp_path: Path, db_url: str
) -> None:
    config = write_config(tmp_path, db_url, admin=False)
    async with running_daemon(config, run_worker=False) as daemon:
        response = await daemon.client.get("/api/v1/jobs", headers=daemon.admin_headers())
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "admin_disabled"


async def test_dead_job_is_listed_and_retried(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        queue = daemon.runtime.queue
        job_id = await queue.enqueue("doomed", {"n": 1})
        assert job_id is not None
        [job] = await queue.lease("test", limit=1, lease_seconds=30)
        await queue.fail(job, "test", "Permanent: project PM does not exist", retry_at=None)

        listed = await daemon.client.get(
            "/api/v1/jobs", params={"state": "dead"}, headers=daemon.admin_headers()
        )
        assert listed.status == 200
        [dead] = (await listed.json())["jobs"]
        assert dead["id"] == job_id
        assert "project PM does not exist" in dead["last_error"]

        retried = await daemon.client.post(
            f"/api/v1/jobs/{job_id}/retry", headers=daemon.admin_headers()
        )
        assert retried.status == 200
        body = await retried.json()
        assert (body["state"], body["attempts"]) == ("pending", 0)


async def test_retried_job_runs_again(tmp_path: Path, db_url: str) -> None:
    runs: list[int] = []

    async def doomed(job: Job) -> None:
        runs.append(job.id)
        raise Permanent("the vendor said no: project PM does not exist")

    handlers = {"doomed": doomed}
    async with running_daemon(write_config(tmp_path, db_url), extra_handlers=handlers) as daemon:
        job_id = await daemon.runtime.queue.enqueue("doomed", {"n": 1})
        assert job_id is not None
        daemon.runtime.worker.wake()
        await _run_until(daemon, job_id, JobState.DEAD)
        retried = await daemon.client.post(
            f"/api/v1/jobs/{job_id}/retry", headers=daemon.admin_headers()
        )
        assert retried.status == 200
        # It runs again and, the cause not being fixed, dies again with the same reason.
        await _run_until(daemon, job_id, JobState.DEAD)
        assert runs == [job_id, job_id]


async def test_retrying_a_job_that_is_not_dead_is_409(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        job_id = await daemon.runtime.queue.enqueue("anything", {})
        response = await daemon.client.post(
            f"/api/v1/jobs/{job_id}/retry", headers=daemon.admin_headers()
        )
        assert response.status == 409
        missing = await daemon.client.post(
            "/api/v1/jobs/999999/retry", headers=daemon.admin_headers()
        )
        assert missing.status == 404


async def test_bad_query_values_are_400_naming_the_allowed_values(
    tmp_path: Path, db_url: str
) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        response = await daemon.client.get(
            "/api/v1/jobs", params={"state": "zombie"}, headers=daemon.admin_headers()
        )
        assert response.status == 400
        assert (
            "allowed: pending, running, done, dead" in (await response.json())["error"]["message"]
        )
        response = await daemon.client.get(
            "/api/v1/jobs", params={"limit": "-3"}, headers=daemon.admin_headers()
        )
        assert response.status == 400


async def test_incidents_and_postmortems_start_empty(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        headers = daemon.admin_headers()
        incidents = await daemon.client.get("/api/v1/incidents", headers=headers)
        assert await incidents.json() == {"incidents": []}
        postmortems = await daemon.client.get("/api/v1/postmortems", headers=headers)
        assert await postmortems.json() == {"postmortems": []}
        missing = await daemon.client.get("/api/v1/incidents/pagerduty:NOPE", headers=headers)
        assert missing.status == 404
        assert (await missing.json())["error"]["code"] == "not_found"


async def test_openapi_document_is_public_and_valid(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(write_config(tmp_path, db_url), run_worker=False) as daemon:
        response = await daemon.client.get("/api/v1/openapi.json")
        assert response.status == 200
        document = await response.json()
        validate(document)
        assert {
            "/api/v1/jobs",
            "/api/v1/jobs/{job_id}/retry",
            "/api/v1/incidents/{incident_id}",
        } <= set(document["paths"])
        assert "Incident" in document["components"]["schemas"]
        writes = {
            "/api/v1/postmortems/{postmortem_id}/follow-ups",
            "/api/v1/postmortems/{postmortem_id}/external-message",
            "/api/v1/postmortems/{postmortem_id}/owner",
            "/api/v1/postmortems/{postmortem_id}/transitions",
        }
        assert writes <= set(document["paths"])
