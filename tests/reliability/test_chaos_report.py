"""RELIABILITY.md is rewritten between the chaos markers only; the figures say what missed."""

from __future__ import annotations

from pathlib import Path

from tests.reliability.chaos.report import (
    as_json,
    from_json,
    misses,
    write_markdown,
)
from tests.reliability.chaos.scenario import Params, Result
from tests.reliability.chaos.tally import Tally

RETENTION = "<!-- retention:begin -->\n## Retention\nKept 90 days.\n<!-- retention:end -->\n"


def _result(**tally: object) -> Result:
    params = Params("A", incidents=100, replicas=3, store="postgres", kill_every=3.0)
    return Result(params, tally=Tally(**tally), kills=12, quiet_seconds=30.0)  # type: ignore[arg-type]


def test_another_section_survives_every_run(tmp_path: Path) -> None:
    path = tmp_path / "RELIABILITY.md"
    path.write_text("# Reliability\n\n" + RETENTION)
    write_markdown(path, [_result()], "15.2", seed=1, quick=False)
    write_markdown(path, [_result(dead_jobs=["effect: gave up"])], "15.2", seed=2, quick=False)
    text = path.read_text()
    assert RETENTION in text
    assert text.count("<!-- chaos:begin -->") == 1
    assert "seed 2" in text
    assert "seed 1" not in text
    assert "dead_jobs = 1" in text


def test_every_count_is_a_miss() -> None:
    assert misses(_result(lost=["d-1"])) == ["lost = 1"]
    assert misses(_result(duplicates={"pm:x:meeting": 1})) == ["duplicates = 1"]
    assert misses(_result(dead_jobs=["effect: gave up"])) == ["dead_jobs = 1"]


def test_results_written_as_json_read_back_the_same() -> None:
    result = _result(lost=["d-1"], changes=3, changes_acknowledged=2)
    assert as_json(from_json(as_json(result))) == as_json(result)


def test_quiet_is_held_to_the_work_left_when_the_disturbance_ended(tmp_path: Path) -> None:
    on_time = _result()
    on_time.jobs_after_calm, on_time.quiet_seconds = 600, 500.0
    late = _result()
    late.jobs_after_calm, late.quiet_seconds = 100, 500.0
    uncounted = _result()
    path = tmp_path / "RELIABILITY.md"

    write_markdown(path, [on_time, late, uncounted], "15.2", seed=1, quick=False)

    verdicts = [line for line in path.read_text().splitlines() if line.startswith("- A: **")]
    assert verdicts[0] == "- A: **PASS**"
    assert verdicts[1] == "- A: **SLOW** — quiet after 500 s > its bound 170 s"
    assert "quiet not checked" in verdicts[2]
