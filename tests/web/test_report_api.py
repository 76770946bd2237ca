"""`GET /api/v1/report` and `pmhub report` (issue 15): the hand-made table, and the same table.

The seeded history and its table, worked out by hand, are in tests/support/history.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner

from hub.cli import main
from tests.support.daemon import running_daemon, write_config
from tests.support.history import EXPECTED_TABLE, NOW, seed, write_files

JUNE = {"from": "2026-06-01", "to": "2026-07-01"}


def _config(tmp_path: Path, db_url: str) -> Path:
    policy, teams = write_files(tmp_path)
    config = write_config(tmp_path, db_url)
    config.write_text(config.read_text() + teams + f"policies: [{policy}]\n")
    return config


async def test_the_api_answers_the_hand_computed_report(tmp_path: Path, db_url: str) -> None:
    config = _config(tmp_path, db_url)
    async with running_daemon(config, run_worker=False, clock=lambda: NOW) as daemon:
        await seed(daemon.runtime.engine)
        headers = daemon.admin_headers()
        text = await daemon.client.get(
            "/api/v1/report", params={**JUNE, "format": "text"}, headers=headers
        )
        assert text.status == 200
        assert text.content_type == "text/plain"
        assert await text.text() == EXPECTED_TABLE
        rows = await daemon.client.get(
            "/api/v1/report", params={**JUNE, "team": "search"}, headers=headers
        )
        body = await rows.json()
        assert body["from"] == "2026-06-01T00:00:00+00:00"
        assert [(r["team"], r["severity"], r["postmortems"]) for r in body["rows"]] == [
            ("search", "SEV-2", 2)
        ]
        assert body["rows"][0]["meetings_on_time"] == {"count": 2, "out_of": 2, "percent": 100}


async def test_a_bad_window_is_a_400_that_says_why(tmp_path: Path, db_url: str) -> None:
    async with running_daemon(_config(tmp_path, db_url), run_worker=False) as daemon:
        for params, says in (
            ({"from": "June"}, "from: not a date or time"),
            ({"to": "2026-06-01T00:00:00"}, "to: a time needs its zone"),
            ({"from": "2026-07-01", "to": "2026-06-01"}, "to must be later than from"),
            ({"format": "csv"}, "unknown format 'csv' (allowed: json, text)"),
        ):
            response = await daemon.client.get(
                "/api/v1/report", params=params, headers=daemon.admin_headers()
            )
            assert response.status == 400
            assert says in (await response.json())["error"]["message"]
        unauthorized = await daemon.client.get("/api/v1/report")
        assert unauthorized.status == 401


async def test_the_command_prints_the_table_the_api_answers(tmp_path: Path, db_url: str) -> None:
    config = _config(tmp_path, db_url)
    async with running_daemon(config, run_worker=False) as daemon:  # the real clock, as the CLI
        await seed(daemon.runtime.engine)
        api = await daemon.client.get(
            "/api/v1/report", params={**JUNE, "format": "text"}, headers=daemon.admin_headers()
        )
        api_table = await api.text()
    # In a thread: the command runs its own event loop, as it does from a shell.
    command = ["report", "--config", str(config), "--from", JUNE["from"], "--to", JUNE["to"]]
    result = await asyncio.to_thread(CliRunner().invoke, main, command)
    assert result.exit_code == 0, result.output
    assert result.output == api_table
    assert api_table.startswith("Post-mortems resolved from 2026-06-01 to 2026-07-01:\n")
    bad = await asyncio.to_thread(
        CliRunner().invoke, main, ["report", "--config", str(config), "--from", "yesterday"]
    )
    assert bad.exit_code == 2
    assert "--from: not a date or time" in bad.output
