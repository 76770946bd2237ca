"""`python -m tests.reliability.chaos`: run the chaos scenarios, print and write the figures.

    python -m tests.reliability.chaos                      # every scenario, full size
    python -m tests.reliability.chaos --scenario A --scenario B --incidents 100
    python -m tests.reliability.chaos --quick --scenario C --seed 7   # CI size

Exit status: 1 if a target held strict today was missed (see `report.STRICT`),
2 if a scenario could not be run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from tempfile import TemporaryDirectory

from tests.bench.run import DEFAULT_POSTGRES_URL, postgres_version
from tests.reliability.chaos.report import (
    as_json,
    from_json,
    misses,
    render_table,
    write_markdown,
)
from tests.reliability.chaos.scenario import Result, run_scenario, scenario_params

ALL = ("A", "B", "C", "D", "E")
FULL_INCIDENTS, QUICK_INCIDENTS = 100, 10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.chaos")
    parser.add_argument("--scenario", action="append", choices=ALL, help="repeatable")
    parser.add_argument("--incidents", type=int, help="default 100 (10 with --quick)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="CI size: 2 replicas, short")
    parser.add_argument("--output", type=Path, help="RELIABILITY.md (default: not with --quick)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument(
        "--render",
        type=Path,
        nargs="+",
        help="run nothing: write RELIABILITY.md from earlier --json files (scenarios run apart)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("PMHUB_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
    )
    args = parser.parse_args(argv)
    incidents = args.incidents or (QUICK_INCIDENTS if args.quick else FULL_INCIDENTS)
    names = args.scenario or list(ALL)
    if args.render:
        results = [from_json(item) for path in args.render for item in json.loads(path.read_text())]
    else:
        code = running_code()  # before the run: a commit made meanwhile did not run
        results = asyncio.run(_run(names, incidents, args.seed, args.quick, args.postgres_url))
        for result in results:
            result.code = code
    print(render_table(results))
    output = args.output or (None if args.quick else Path("RELIABILITY.md"))
    if output is not None:
        version = asyncio.run(postgres_version(args.postgres_url))
        write_markdown(output, results, version, args.seed, args.quick)
        print(f"\nwrote {output}")
    if args.json:
        args.json.write_text(json.dumps([as_json(r) for r in results], indent=2))
    if any(r.error for r in results):
        return 2
    return 1 if any(misses(r) for r in results) else 0


def running_code() -> str:
    """The product's code the replicas ran (they run this checkout): the last commit that
    changed it, "+edits" when it differs from that commit in the work tree. Harness-only
    commits after it do not change what ran, so they do not change this."""
    root = Path(__file__).parents[3]
    product = ["hub", "connectors", "config", "pyproject.toml"]
    try:
        commit = subprocess.run(
            ["git", "log", "-1", "--format=%h", "--", *product],
            check=False,
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
        edited = subprocess.run(
            ["git", "status", "--porcelain", "--", *product],
            check=False,
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (commit or "unknown") + ("+edits" if edited else "")


async def _run(names: list[str], incidents: int, seed: int, quick: bool, pg: str) -> list[Result]:
    results = []
    for name in names:
        params = scenario_params(name, incidents=incidents, seed=seed, quick=quick)
        print(f"scenario {name}: {params}", file=sys.stderr, flush=True)
        with TemporaryDirectory(prefix=f"pmhub-chaos-{name}-") as workdir:
            try:
                result = await run_scenario(params, Path(workdir), pg)
            except Exception as error:  # noqa: BLE001 - reported, and the next one runs
                result = Result(params, error=f"{type(error).__name__}: {error}")
        results.append(result)
    return results


if __name__ == "__main__":
    sys.exit(main())
