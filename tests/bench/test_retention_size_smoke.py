"""The retention size report works at a tiny scale: retention keeps the database smaller,
and the report replaces only its own section of RELIABILITY.md."""

from __future__ import annotations

from pathlib import Path

from tests.bench.retention_size import BEGIN, END, simulate, write_section


async def test_retention_keeps_only_the_horizons_worth(tmp_path: Path) -> None:
    outcomes = {}
    for retention in (False, True):
        path = tmp_path / f"{retention}.db"
        url = f"sqlite+aiosqlite:///{path}"
        outcomes[retention] = await simulate(
            url, retention=retention, deliveries=600, days=60, sqlite_file=path
        )

    assert outcomes[False].rows["inbox"] == 600
    # Daily runs with a 30-day horizon keep the last 30 days (10 deliveries a day).
    assert outcomes[True].rows["inbox"] == 300
    assert outcomes[True].rows["jobs"] == 600  # ingest + reconcile for each kept delivery
    assert outcomes[True].size_bytes < outcomes[False].size_bytes


def test_the_section_is_replaced_and_the_rest_of_the_file_kept(tmp_path: Path) -> None:
    report = tmp_path / "RELIABILITY.md"
    report.write_text(f"# Reliability\n\n## Chaos\n\nkept\n\n{BEGIN}\nold\n{END}\n\n## After\n")

    write_section(report, "## Retention\n\nnew")

    text = report.read_text()
    assert "kept" in text
    assert "## After" in text
    assert "old" not in text
    assert f"{BEGIN}\n## Retention\n\nnew\n{END}" in text
