"""`pmhub report`: the process per team and severity, read from the store (issue 15).

The same table `GET /api/v1/report?format=text` answers (both come from
`hub.engine.report`), for the quarterly question: are post-mortems on time, are
meetings inside the deadline, are follow-ups getting done?
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.cli.common import config_option, load_all_or_exit, with_store
from hub.engine.process import process_records
from hub.engine.report import BadQuery, Report, build_report, format_table, parse_window
from hub.runtime import utc_now


@click.command()
@config_option
@click.option("--from", "start", help="Incidents resolved from (ISO date or date-time).")
@click.option("--to", "end", help="... up to, not including (ISO date or date-time).")
@click.option("--team", help="One team of pmhub.yaml's `teams:` ('none': no team).")
@click.option("--json", "as_json", is_flag=True, help="The rows as JSON, as the API gives them.")
def report(
    config_path: Path, start: str | None, end: str | None, team: str | None, as_json: bool
) -> None:
    """The process in numbers: count, on-time meetings, time to close, follow-ups on time."""
    try:
        window = parse_window(start, end, ("--from", "--to"))
    except BadQuery as problem:
        click.echo(f"pmhub report: {problem}", err=True)
        sys.exit(2)
    settings, policies = load_all_or_exit(config_path)

    async def work(engine: AsyncEngine) -> Report:
        records = await process_records(engine, policies, utc_now())
        return build_report(records, *window, team)

    built = with_store(settings, work)
    click.echo(json.dumps(built.json(), indent=2) if as_json else format_table(built), nl=False)
    if as_json:
        click.echo()
