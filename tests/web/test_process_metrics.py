"""The process in numbers on /metrics (issue 15): computed from the store, for a seeded history.

The history is tests/support/history.py (the report's hand-made table is about the
same post-mortems). Every replica reading that store reports these same values.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from hub.metrics.process import MIN_REFRESH_SECONDS, ProcessMetrics, ProcessSnapshot
from tests.support.daemon import running_daemon, write_config
from tests.support.history import NOW, seed, write_files

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def test_the_numbers_from_the_store(tmp_path: Path, db_url: str) -> None:
    policy, teams = write_files(tmp_path)
    config = write_config(tmp_path, db_url)
    config.write_text(config.read_text() + teams + f"policies: [{policy}]\n")
    async with running_daemon(config, run_worker=False, clock=lambda: NOW) as daemon:
        await seed(daemon.runtime.engine)
        text = await (await daemon.client.get("/metrics")).text()
    found = _samples(text)
    # Post-mortems by team, severity and status.
    assert (
        _value(found, "pmhub_postmortems", team="checkout", severity="SEV-1", status="closed") == 2
    )
    assert (
        _value(found, "pmhub_postmortems", team="search", severity="SEV-2", status="in_review") == 1
    )
    assert _value(found, "pmhub_postmortems", team="none", severity="SEV-3", status="draft") == 1
    # Time from resolution to closed: PA 4 days, PB 6 days (both under the 7-day bucket).
    closed = {"team": "checkout", "severity": "SEV-1", "milestone": "closed"}
    hist = "pmhub_postmortem_resolution_to_milestone_seconds"
    assert _value(found, f"{hist}_count", **closed) == 2
    assert _value(found, f"{hist}_sum", **closed) == 10 * 86400
    assert _value(found, f"{hist}_bucket", **closed, le="432000") == 1  # 5 days
    assert _value(found, f"{hist}_bucket", **closed, le="604800") == 2  # 7 days
    accepted = {"team": "checkout", "severity": "SEV-1", "milestone": "owner_accepted"}
    assert _value(found, f"{hist}_count", **accepted) == 1  # only PA's owner pressed Accept
    # Meetings inside vs after the deadline; reviews shared early or late.
    meetings = "pmhub_postmortem_meetings"
    assert _value(found, meetings, team="checkout", severity="SEV-1", timing="inside_deadline") == 1
    assert _value(found, meetings, team="checkout", severity="SEV-1", timing="after_deadline") == 1
    reviews = "pmhub_postmortem_reviews"
    assert _value(found, reviews, team="checkout", severity="SEV-1", shared="early") == 1  # PA
    assert _value(found, reviews, team="checkout", severity="SEV-1", shared="late") == 1  # PB
    # Follow-ups by team, priority and state.
    follow_ups = "pmhub_follow_ups"
    assert _value(found, follow_ups, team="checkout", priority="P1", state="overdue") == 1
    assert _value(found, follow_ups, team="checkout", priority="P1", state="done") == 2
    assert _value(found, follow_ups, team="checkout", priority="P1", state="open") == 1
    assert _value(found, follow_ups, team="search", priority="P1", state="dropped") == 1
    # No post-mortem is overdue (PC has no deadline on record); the build is known.
    assert not [k for k in found if k[0] == "pmhub_postmortems_overdue"]
    assert any(k[0] == "pmhub_build_info" for k in found)
    assert any(k[0] == "process_resident_memory_bytes" for k in found)


def test_the_store_is_read_again_only_after_a_while() -> None:
    now = [100.0]
    process = ProcessMetrics(clock=lambda: now[0])
    assert process.due()
    process.refresh(ProcessSnapshot())
    now[0] += MIN_REFRESH_SECONDS - 1
    assert not process.due()
    now[0] += 1
    assert process.due()
