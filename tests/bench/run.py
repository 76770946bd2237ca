"""Webhook-ingest benchmark: `python -m tests.bench.run` (what `make bench` runs).

Three servers are measured in one run, one after the other, each as its own
process with the load generator (`tests.bench.loadgen`) in another:

* reference: a bare aiohttp app that checks the same signature and answers 202,
  storing nothing (`tests.bench.reference_app`): what this machine can do;
* sqlite: `pmhub serve` on a fresh SQLite file;
* postgres: `pmhub serve` on a fresh PostgreSQL database (skipped, with a note,
  when the server cannot be reached).

For each: constant rate first (open loop, latency from the scheduled send time),
then the ingest queue is left to drain, then saturation (a fixed number of requests
in flight), then the queue drains again and every delivery answered 202 is looked
up in the inbox. Results go to stdout, BENCHMARKS.md and optionally a JSON file.
The whole process (issue 16), each selectable like the above (`tests.bench.flow`):
`e2e` (one incident at a time, per stage), `storm` (N incidents at once on SQLite,
PostgreSQL and PostgreSQL x 3) and `soak` (simulated weeks with retention on).

Exit status: 1 if an acknowledged delivery is missing from the inbox or an effect was
lost or done twice, 2 if a scenario could not be run; speed targets are reported, not
enforced.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import sqlite3
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url

from hub.store.db import asyncpg_dsn
from tests.bench.report import (
    Target,
    machine_description,
    render_markdown,
    render_table,
)
from tests.support.signing import PAGERDUTY_SECRET

SCENARIOS = ("reference", "sqlite", "postgres")  # ingest
WHOLE_PROCESS = ("e2e", "storm", "soak")  # tests.bench.flow's (imported there: no cycle)
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 40.0


@dataclass(frozen=True)
class Scale:
    duration: float  # measured saturation seconds
    rate_duration: float  # measured constant-rate seconds
    warmup: float
    rate: float
    concurrency: int
    max_deliveries: int  # per saturation run
    drain_timeout: float
    per_incident: int
    log_level: str = "warning"  # pmhub's; "info" adds the one summary line per request


@dataclass
class ScenarioResult:
    name: str
    description: str
    rate: dict[str, Any] | None = None
    saturate: dict[str, Any] | None = None
    accepted: int | None = None  # 202s, warm-up included
    stored: int | None = None  # inbox rows
    lost: int | None = None  # accepted ids missing from the inbox
    ingested: int | None = None  # inbox rows the worker has processed
    backlog_after_saturation: int | None = None  # jobs pending/running when load stopped
    drain_seconds: float | None = None  # until no job was pending/running
    jobs: dict[str, int] = field(default_factory=dict)  # "kind/state" -> count
    server_exit: int | None = None
    skipped: str | None = None
    error: str | None = None


# -- the store, read directly (never through the daemon) --------------------------------


class Store:
    """Reads the benchmark database with a plain driver, outside pmhub."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)

    async def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.url.get_backend_name() == "sqlite":
            return await asyncio.to_thread(self._sqlite_rows, sql)
        conn = await asyncpg.connect(asyncpg_dsn(self.url), timeout=10)
        try:
            return [tuple(record) for record in await conn.fetch(sql)]
        finally:
            await conn.close()

    def _sqlite_rows(self, sql: str) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(self.url.database or "", timeout=10)
        try:
            return list(conn.execute(sql).fetchall())
        finally:
            conn.close()

    async def unfinished_jobs(self) -> int:
        rows = await self.rows("SELECT count(*) FROM jobs WHERE state IN ('pending', 'running')")
        return int(rows[0][0])

    async def drain(self, timeout: float) -> float | None:
        """Seconds until no job is pending or running; None if `timeout` passed first."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if await self.unfinished_jobs() == 0:
                return time.monotonic() - started
            await asyncio.sleep(0.25)
        return None

    async def tally(self, result: ScenarioResult, accepted_ids: set[str]) -> None:
        stored = {
            str(row[0])
            for row in await self.rows("SELECT delivery_id FROM inbox WHERE source = 'pagerduty'")
        }
        processed = "SELECT count(*) FROM inbox WHERE processed_at IS NOT NULL"
        result.stored = len(stored)
        result.lost = len(accepted_ids - stored)
        result.ingested = int((await self.rows(processed))[0][0])
        jobs = await self.rows("SELECT kind, state, count(*) FROM jobs GROUP BY kind, state")
        result.jobs = {f"{kind}/{state}": int(count) for kind, state, count in sorted(jobs)}


@asynccontextmanager
async def fresh_postgres(server_url: str) -> AsyncIterator[str]:
    """A new database for one run, dropped afterwards (WITH FORCE: pmhub may linger)."""
    server = make_url(server_url)
    name = f"pmhub_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(asyncpg_dsn(server), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(asyncpg_dsn(server), timeout=10)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def postgres_version(server_url: str) -> str | None:
    """The server's version, or None when it cannot be reached (the scenario is skipped)."""
    try:
        conn = await asyncpg.connect(asyncpg_dsn(make_url(server_url)), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


# -- processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pmhub_config(directory: Path, port: int, store_url: str, log_level: str = "warning") -> Path:
    path = directory / "pmhub.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            server: {{host: 127.0.0.1, port: {port}, max_body_bytes: 1048576}}
            store: {{url: "{store_url}"}}
            log: {{level: {log_level}, format: json}}
            worker: {{concurrency: 4}}
            sources:
              pagerduty:
                webhook_secrets: ["{PAGERDUTY_SECRET}"]
            """
        )
    )
    return path


class Server:
    """One server process; its output goes to a log file (a pipe nobody reads would stall it)."""

    def __init__(self, command: list[str], log_path: Path, port: int) -> None:
        self.command, self.log_path, self.port = command, log_path, port
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        url = f"http://127.0.0.1:{self.port}/readyz"
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(f"server exited early; log tail:\n{self.log_tail()}")
                with suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"server not ready in {READY_TIMEOUT_SECONDS:.0f} s:\n{self.log_tail()}")

    async def stop(self) -> int | None:
        """SIGTERM (graceful), then SIGKILL if it does not exit in time; the exit status."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            with suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return self.process.returncode

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


async def loadgen(
    server: Server, mode: str, prefix: str, scale: Scale, workdir: Path
) -> tuple[dict[str, Any], set[str]]:
    """Run the load generator process once; its JSON result and the ids answered 202."""
    ids_file = workdir / f"{prefix}.ids"
    duration = scale.duration if mode == "saturate" else scale.rate_duration
    command = [
        *(sys.executable, "-m", "tests.bench.loadgen"),
        *("--url", f"http://127.0.0.1:{server.port}/webhooks/pagerduty"),
        *("--mode", mode, "--prefix", prefix, "--secret", PAGERDUTY_SECRET),
        *("--concurrency", str(scale.concurrency), "--duration", str(duration)),
        *("--warmup", str(scale.warmup), "--rate", str(scale.rate)),
        *("--max-requests", str(scale.max_deliveries), "--per-incident", str(scale.per_incident)),
        *("--server-pid", str(server.pid), "--ids-file", str(ids_file)),
    ]
    with (workdir / f"{prefix}.loadgen.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=log
        )
        try:
            out, _ = await asyncio.wait_for(process.communicate(), scale.warmup + duration + 90)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RuntimeError(f"load generator ({mode}) did not finish in time") from None
    if process.returncode != 0:
        tail = (workdir / f"{prefix}.loadgen.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"load generator ({mode}) failed ({process.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result, set(ids_file.read_text().split())


# -- scenarios ----------------------------------------------------------------------------


async def exercise(
    result: ScenarioResult, server: Server, store: Store | None, scale: Scale, workdir: Path
) -> None:
    """Constant rate, drain, saturation, drain, then count the inbox."""
    await server.start()
    result.rate, accepted = await loadgen(server, "rate", f"{result.name}-r", scale, workdir)
    if store is not None:
        await store.drain(scale.drain_timeout)
    result.saturate, more = await loadgen(server, "saturate", f"{result.name}-s", scale, workdir)
    accepted |= more
    result.accepted = len(accepted)
    if store is not None:
        result.backlog_after_saturation = await store.unfinished_jobs()
        result.drain_seconds = await store.drain(scale.drain_timeout)
        await store.tally(result, accepted)


async def run_scenario(
    name: str, scale: Scale, workdir: Path, postgres_url: str, pg_version: str | None
) -> ScenarioResult:
    directory = workdir / name
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = directory / "server.log"
    if name == "reference":
        result = ScenarioResult(name, "bare aiohttp: verify signature, 202, no storage")
        command = [sys.executable, "-m", "tests.bench.reference_app", "--port", str(port)]
        server = Server([*command, "--secret", PAGERDUTY_SECRET], log_path, port)
        return await _guarded(result, server, None, scale, directory)
    serve = [sys.executable, "-m", "hub", "serve", "--config"]
    if name == "sqlite":
        result = ScenarioResult(name, "pmhub serve, SQLite (WAL)")
        url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
        config = pmhub_config(directory, port, url, scale.log_level)
        server = Server([*serve, str(config)], log_path, port)
        return await _guarded(result, server, Store(url), scale, directory)
    result = ScenarioResult(name, "pmhub serve, PostgreSQL")
    if pg_version is None:
        result.skipped = f"PostgreSQL not reachable at {make_url(postgres_url)!r}"
        return result
    async with fresh_postgres(postgres_url) as url:
        config = pmhub_config(directory, port, url, scale.log_level)
        server = Server([*serve, str(config)], log_path, port)
        return await _guarded(result, server, Store(url), scale, directory)


async def _guarded(
    result: ScenarioResult, server: Server, store: Store | None, scale: Scale, directory: Path
) -> ScenarioResult:
    try:
        await exercise(result, server, store, scale, directory)
    except (RuntimeError, OSError, asyncpg.PostgresError, sqlite3.Error) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        result.server_exit = await server.stop()
    return result


# -- command line -------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="pmhub webhook-ingest benchmark")
    parser.add_argument("--duration", type=float, help="measured saturation seconds (10)")
    parser.add_argument("--rate-duration", type=float, help="measured constant-rate seconds (15)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds before each phase (2)")
    parser.add_argument("--rate", type=float, help="constant rate, deliveries/s (200)")
    parser.add_argument("--concurrency", type=int, help="requests in flight at saturation (64)")
    parser.add_argument("--max-deliveries", type=int, help="bound per saturation run (200000)")
    parser.add_argument("--drain-timeout", type=float, help="seconds to wait for the queue (180)")
    parser.add_argument("--per-incident", type=int, default=20, help="deliveries per incident")
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=("debug", "info", "warning", "error"),
        help="pmhub's log level (warning: no line per request; info: one)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny scale for CI: 50 deliveries, 1 s phases"
    )
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS + WHOLE_PROCESS), help="comma-separated"
    )
    parser.add_argument("--e2e-incidents", type=int, help="e2e: incidents in a row (20; quick 3)")
    parser.add_argument("--incidents", type=int, help="storm: N (200; quick 5)")
    parser.add_argument("--storm-window", type=float, help="storm: seconds to send all in (20)")
    parser.add_argument("--soak-days", type=int, help="soak: simulated days (21; quick 2)")
    parser.add_argument("--soak-per-day", type=int, help="soak: incidents a day (4; quick 1)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("PMHUB_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="server to create a fresh database on",
    )
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results")
    parser.add_argument("--workdir", type=Path, default=None, help="keep logs and databases")
    args = parser.parse_args(argv)
    unknown = set(args.scenarios.split(",")) - set(SCENARIOS + WHOLE_PROCESS)
    if unknown:
        allowed = ", ".join(SCENARIOS + WHOLE_PROCESS)
        parser.error(f"unknown scenario(s) {sorted(unknown)} (allowed: {allowed})")
    return args


def scale_from(args: argparse.Namespace) -> Scale:
    if args.quick:
        base = Scale(1.0, 1.0, 0.0, 50.0, 8, 50, 30.0, args.per_incident, args.log_level)
    else:
        base = Scale(10.0, 15.0, 2.0, 200.0, 64, 200_000, 180.0, args.per_incident, args.log_level)
    chosen = {
        "duration": args.duration,
        "rate_duration": args.rate_duration,
        "warmup": args.warmup,
        "rate": args.rate,
        "concurrency": args.concurrency,
        "max_deliveries": args.max_deliveries,
        "drain_timeout": args.drain_timeout,
    }
    return Scale(**{**asdict(base), **{k: v for k, v in chosen.items() if v is not None}})


async def run_all(
    args: argparse.Namespace, scale: Scale, workdir: Path
) -> tuple[list[ScenarioResult], str | None]:
    pg_version = await postgres_version(args.postgres_url)
    results = []
    for name in [s for s in SCENARIOS if s in args.scenarios.split(",")]:
        print(f"bench: {name} …", file=sys.stderr, flush=True)
        results.append(await run_scenario(name, scale, workdir, args.postgres_url, pg_version))
    return results, pg_version


def exit_status(results: list[ScenarioResult]) -> int:
    if any(r.lost for r in results):
        return 1
    if any(r.error for r in results):
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    # Imported here: the whole-process modules import this one (Store, fresh_postgres).
    from tests.bench import flow, flow_report  # noqa: PLC0415

    args = parse_args(argv)
    scale = scale_from(args)
    chosen = args.scenarios.split(",")
    ingest = [s for s in SCENARIOS if s in chosen]
    whole = [s for s in WHOLE_PROCESS if s in chosen]
    flow_scale = flow.flow_scale(args)
    with TemporaryDirectory(prefix="pmhub-bench-") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        args.scenarios = ",".join(ingest)
        results, pg_version = asyncio.run(run_all(args, scale, workdir))
        reachable = pg_version is not None
        flow_results = asyncio.run(
            flow.run_flow(whole, flow_scale, workdir, args.postgres_url, reachable)
        )
    machine = machine_description(pg_version)
    previous = args.output.read_text() if args.output.exists() else ""
    ingest_markdown = None
    if ingest:
        targets = Target.evaluate(results, scale.rate)
        print(render_table(results, scale.rate))
        for target in targets:
            print(f"{target.verdict:4}  {target.text}  ({target.detail})")
        for result in results:
            if result.error:
                print(f"ERROR in {result.name}: {result.error}", file=sys.stderr)
        ingest_markdown = render_markdown(results, targets, machine, scale, previous)
    sections: list[str] = []
    if whole:
        print(flow_report.console(flow_results))
        command = "python -m tests.bench.run " + " ".join(
            argv if argv is not None else sys.argv[1:]
        )
        sections = flow_report.markdown_sections(flow_results, command.strip())
    args.output.write_text(flow_report.compose(ingest_markdown, sections, machine, previous))
    if args.json is not None:
        payload = {
            "scale": asdict(scale),
            "flow_scale": asdict(flow_scale),
            "machine": machine,
            "results": [asdict(r) for r in results],
            "flow": asdict(flow_results),
        }
        args.json.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str))
    problems = flow_results.lost_or_duplicated
    for problem in problems + flow_results.errors:
        print(f"FAILED {problem}", file=sys.stderr)
    return 1 if problems else exit_status(results) or (2 if flow_results.errors else 0)


if __name__ == "__main__":
    sys.exit(main())
