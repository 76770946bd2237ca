"""The admin API's write side: follow-ups, external message, owner, transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.engine.reconcile import Reconciler
from hub.intake.merge import merge
from hub.model.incident import Person, Source
from hub.model.incident_record import IncidentUpdate
from hub.store.audit import list_entries
from hub.store.state import save_incident
from tests.support.daemon import Daemon, running_daemon, write_config

POLICIES = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"
RESOLVED = datetime(2026, 11, 19, 19, 5, tzinfo=UTC)
PM = "/api/v1/postmortems/pm:pagerduty:P1042"


async def _sev1_with_postmortem(daemon: Daemon) -> None:
    fields: dict[str, object] = {
        "title": "Checkout API 5xx",
        "reference": "PD-1042",
        "severity": "SEV-1",
        "status": "resolved",
        "created_at": RESOLVED - timedelta(hours=5),
        "resolved_at": RESOLVED,
        "incident_commander": Person(email="alice@example.com", name="Alice Chen"),
    }
    record = merge(None, IncidentUpdate.of(Source.PAGERDUTY, "P1042", RESOLVED, fields)).record
    await save_incident(daemon.runtime.engine, record)
    runtime = daemon.runtime
    await Reconciler(
        runtime.engine, runtime.queue, runtime.policies, clock=runtime.clock
    ).reconcile(record.id)


def _config(tmp_path: Path, db_url: str) -> Path:
    config = write_config(tmp_path, db_url)
    config.write_text(config.read_text() + f"policies: [{POLICIES}]\n")
    return config


async def test_follow_up_message_owner_and_a_refused_transition(
    tmp_path: Path, db_url: str
) -> None:
    async with running_daemon(_config(tmp_path, db_url), run_worker=False) as daemon:
        await _sev1_with_postmortem(daemon)
        headers = {**daemon.admin_headers(), "Idempotency-Key": "fu-1"}
        follow_up = {
            "summary": "Alert on checkout 5xx rate",
            "priority": "p1",
            "owner_email": "bob@example.com",
        }
        created = await daemon.client.post(f"{PM}/follow-ups", json=follow_up, headers=headers)
        assert created.status == 201, await created.text()
        [item] = (await created.json())["postmortem"]["follow_ups"]
        assert (item["summary"], item["priority"]) == ("Alert on checkout 5xx rate", "P1")
        # The same Idempotency-Key again: answered, nothing added.
        again = await daemon.client.post(f"{PM}/follow-ups", json=follow_up, headers=headers)
        assert again.status == 200
        assert len((await again.json())["postmortem"]["follow_ups"]) == 1

        admin = daemon.admin_headers()
        outage = {"body": "A full outage of checkout for 5 hours.", "full_outage": False}
        refused = await daemon.client.put(f"{PM}/external-message", json=outage, headers=admin)
        assert refused.status == 422
        assert "outage" in (await refused.json())["error"]["message"]
        fixed = {"body": "Checkout was degraded for some customers.", "full_outage": False}
        accepted = await daemon.client.put(f"{PM}/external-message", json=fixed, headers=admin)
        assert accepted.status == 200

        owner = await daemon.client.post(
            f"{PM}/owner", json={"email": "carol@example.com"}, headers=admin
        )
        assert owner.status == 200, await owner.text()

        # In Review needs a scheduled meeting: refused, with the guard's reason, and audited.
        review = await daemon.client.post(
            f"{PM}/transitions", json={"to": "in_review"}, headers=admin
        )
        assert review.status == 409
        reason = (await review.json())["error"]["message"]
        assert "meeting" in reason
        audit = await list_entries(daemon.runtime.engine, "pagerduty:P1042", limit=100)
        assert any(
            "refused" in entry.action or not entry.detail.get("allowed", True) for entry in audit
        )


async def test_followups_none_through_the_admin_api(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(_config(tmp_path, db_url), run_worker=False) as daemon:
        await _sev1_with_postmortem(daemon)
        admin = {**daemon.admin_headers(), "Idempotency-Key": "none-1"}
        missing = await daemon.client.put(f"{PM}/follow-ups/none", json={}, headers=admin)
        assert missing.status == 400
        assert "'reason'" in (await missing.json())["error"]["message"]
        body = {"reason": "action items are up to the individuals (seed 001)"}
        declared = await daemon.client.put(f"{PM}/follow-ups/none", json=body, headers=admin)
        assert declared.status == 200, await declared.text()
        document = (await declared.json())["postmortem"]
        assert document["no_follow_ups"] is True
        assert document["no_follow_ups_reason"] == body["reason"]
        spec = await daemon.client.get("/api/v1/openapi.json", headers=daemon.admin_headers())
        paths = (await spec.json())["paths"]
        assert "put" in paths["/api/v1/postmortems/{postmortem_id}/follow-ups/none"]


async def test_bad_requests_name_the_problem(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(_config(tmp_path, db_url), run_worker=False) as daemon:
        await _sev1_with_postmortem(daemon)
        admin = daemon.admin_headers()
        bad_json = await daemon.client.post(f"{PM}/owner", data=b"{", headers=admin)
        assert bad_json.status == 400
        assert "JSON" in (await bad_json.json())["error"]["message"]
        bad_to = await daemon.client.post(f"{PM}/transitions", json={"to": "done"}, headers=admin)
        assert bad_to.status == 400
        assert "in_review, reviewed" in (await bad_to.json())["error"]["message"]
        missing = await daemon.client.post(
            "/api/v1/postmortems/pm:pagerduty:NOPE/owner", json={"email": "a@b.c"}, headers=admin
        )
        assert missing.status == 404
        unauthenticated = await daemon.client.post(f"{PM}/owner", json={"email": "a@b.c"})
        assert unauthenticated.status == 401
