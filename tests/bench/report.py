"""Turning benchmark results into the console table, the targets and BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.bench.run import Scale, ScenarioResult

P99_TARGET_MS = 50.0
THROUGHPUT_RATIO_TARGET = 0.5
CLIENT_BOUND_CORES = 0.8  # the load generator kept (nearly) a core of its own busy
NOTES_BEGIN, NOTES_END = "<!-- notes:begin -->", "<!-- notes:end -->"


@dataclass(frozen=True)
class Target:
    text: str
    verdict: str  # PASS, FAIL or n/a (not measured)
    detail: str

    @staticmethod
    def evaluate(results: list[ScenarioResult], rate: float) -> list[Target]:
        by_name = {r.name: r for r in results if r.skipped is None and r.error is None}
        targets = [_throughput_target(by_name)]
        for name in ("sqlite", "postgres"):
            targets.append(_latency_target(name, by_name.get(name), rate))
        for name in ("sqlite", "postgres"):
            targets.append(_lost_target(name, by_name.get(name)))
        return targets


def _throughput_target(by_name: dict[str, ScenarioResult]) -> Target:
    text = f"(a) SQLite saturation ≥ {THROUGHPUT_RATIO_TARGET:.0%} of (c) the reference's"
    sqlite, reference = by_name.get("sqlite"), by_name.get("reference")
    if sqlite is None or reference is None or not sqlite.saturate or not reference.saturate:
        return Target(text, "n/a", "not measured")
    if reference.saturate["throughput"] <= 0:
        return Target(text, "n/a", "the reference completed nothing inside the measured window")
    ratio = sqlite.saturate["throughput"] / reference.saturate["throughput"]
    verdict = "PASS" if ratio >= THROUGHPUT_RATIO_TARGET else "FAIL"
    detail = (
        f"{sqlite.saturate['throughput']:.0f} vs {reference.saturate['throughput']:.0f}"
        f" deliveries/s = {ratio:.0%}"
    )
    return Target(text, verdict, detail)


def _latency_target(name: str, result: ScenarioResult | None, rate: float) -> Target:
    text = f"{_label(name)}: p99 acknowledgement < {P99_TARGET_MS:.0f} ms at {rate:.0f}/s"
    if result is None or not result.rate:
        return Target(text, "n/a", "not measured")
    p99 = result.rate["latency_ms"]["p99"]
    failures = result.rate["measured_non_202"]
    if p99 is None:
        return Target(text, "FAIL", "no delivery acknowledged")
    verdict = "PASS" if p99 < P99_TARGET_MS and failures == 0 else "FAIL"
    detail = f"p99 {p99:.1f} ms"
    if failures:
        detail += f"; {failures} measured deliveries not answered 202"
    return Target(text, verdict, detail)


def _lost_target(name: str, result: ScenarioResult | None) -> Target:
    text = f"{_label(name)}: no acknowledged delivery lost (inbox counted afterwards)"
    if result is None or result.lost is None:
        return Target(text, "n/a", "not measured")
    verdict = "PASS" if result.lost == 0 else "FAIL"
    return Target(text, verdict, f"accepted {result.accepted}, stored {result.stored}")


def _label(name: str) -> str:
    return {"reference": "(c) reference", "sqlite": "(a) SQLite", "postgres": "(b) PostgreSQL"}[
        name
    ]


# -- the machine --------------------------------------------------------------------------


def machine_description(postgres_version: str | None) -> dict[str, str]:
    cpuinfo = _read("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    flags = re.search(r"^flags\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.MULTILINE)
    virtual = bool(flags and "hypervisor" in flags.group(1).split())
    return {
        "CPU": (model.group(1).strip() if model else platform.processor() or "unknown")
        + (" (virtual machine)" if virtual else ""),
        "cores": f"{os.cpu_count()} logical, {len(os.sched_getaffinity(0))} usable",
        "memory": f"{int(mem.group(1)) / 1024 / 1024:.1f} GiB" if mem else "unknown",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": postgres_version or "not reachable",
        "libraries": ", ".join(
            f"{name} {version(name)}" for name in ("aiohttp", "SQLAlchemy", "aiosqlite", "asyncpg")
        ),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


# -- tables -------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _non_202(result: ScenarioResult) -> int:
    total = 0
    for phase in (result.rate, result.saturate):
        if phase:
            total += sum(n for s, n in phase["statuses"].items() if s != "202")
            total += sum(phase["errors"].values())
    return total


def results_rows(results: list[ScenarioResult], rate: float) -> list[list[str]]:
    header = [
        "scenario",
        "saturation deliveries/s",
        f"p50 @ {rate:.0f}/s (ms)",
        f"p99 @ {rate:.0f}/s (ms)",
        "max (ms)",
        "accepted",
        "stored",
        "lost",
        "not 202",
    ]
    rows = [header]
    for r in results:
        if r.skipped or r.error:
            rows.append([_label(r.name), r.skipped or "error: see below", *["-"] * 7])
            continue
        latency = r.rate["latency_ms"] if r.rate else {}
        sat = r.saturate["throughput"] if r.saturate else None
        rows.append(
            [
                _label(r.name),
                _fmt(sat, 0),
                _fmt(latency.get("p50")),
                _fmt(latency.get("p99")),
                _fmt(latency.get("max")),
                _fmt(r.accepted),
                _fmt(r.stored) if r.name != "reference" else "n/a",
                _fmt(r.lost) if r.name != "reference" else "n/a",
                _fmt(_non_202(r)),
            ]
        )
    return rows


def detail_rows(results: list[ScenarioResult], scale: Scale) -> list[list[str]]:
    header = [
        "scenario",
        "p50 / p99 at saturation (ms)",
        "server CPU (cores)",
        "machine CPU (cores)",
        "loadgen CPU (cores)",
        "deliveries per server CPU-second",
        "queue after saturation",
        "drain (s)",
        "ingested",
        "jobs (kind/state: n)",
    ]
    rows = [header]
    for r in results:
        if not r.saturate:
            continue
        sat, cpu = r.saturate, r.saturate["cpu"]
        server = cpu.get("server_cores")
        loadgen = cpu["loadgen_cpu_seconds"] / max(scale.warmup + sat["measured_seconds"], 1e-9)
        jobs = ", ".join(f"{k}: {v}" for k, v in r.jobs.items()) or "-"
        rows.append(
            [
                _label(r.name),
                f"{_fmt(sat['latency_ms']['p50'])} / {_fmt(sat['latency_ms']['p99'])}",
                _fmt(server, 2),
                _fmt(cpu.get("machine_cores"), 2),
                _fmt(loadgen, 2),
                _fmt(sat["throughput"] / server, 0) if server else "-",
                _fmt(r.backlog_after_saturation) if r.name != "reference" else "n/a",
                _fmt(r.drain_seconds) if r.name != "reference" else "n/a",
                _fmt(r.ingested) if r.name != "reference" else "n/a",
                jobs if r.name != "reference" else "n/a",
            ]
        )
    return rows


def _markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def render_table(results: list[ScenarioResult], rate: float) -> str:
    rows = results_rows(results, rate)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def client_bound(results: list[ScenarioResult], scale: Scale) -> list[str]:
    """Scenarios whose saturation figure the load generator, not the server, limited."""
    names = []
    for r in results:
        if r.saturate:
            seconds = scale.warmup + r.saturate["measured_seconds"]
            if r.saturate["cpu"]["loadgen_cpu_seconds"] / max(seconds, 1e-9) >= CLIENT_BOUND_CORES:
                names.append(_label(r.name))
    return names


def kept_notes(previous: str) -> str:
    start, end = previous.find(NOTES_BEGIN), previous.find(NOTES_END)
    if start == -1 or end < start:
        return f"{NOTES_BEGIN}\n{NOTES_END}"
    return previous[start : end + len(NOTES_END)]


def render_markdown(
    results: list[ScenarioResult],
    targets: list[Target],
    machine: dict[str, str],
    scale: Scale,
    previous: str = "",
) -> str:
    missed = [t for t in targets if t.verdict == "FAIL"]
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` (`python -m tests.bench.run`) on {machine['date']}."
        " Everything above *Analysis* is rewritten by each run; the Analysis section is kept.",
        "",
        "## Webhook ingest",
        "",
        _markdown_table(results_rows(results, scale.rate)),
        "",
        "Saturation: deliveries answered 202 per second with "
        f"{scale.concurrency} requests always in flight, over {scale.duration:g} s after a "
        f"{scale.warmup:g} s warm-up. Latency: open loop at {scale.rate:g} deliveries/s for "
        f"{scale.rate_duration:g} s, measured from each delivery's *scheduled* send time to its"
        " 202. *accepted*: deliveries answered 202 in both phases, warm-ups included; *stored*:"
        " inbox rows counted in the database afterwards; *lost*: accepted ids absent from the"
        f" inbox. pmhub ran with `log.level: {scale.log_level}`"
        + (
            " (its one summary line per request is not written; `--log-level info` measures it)."
            if scale.log_level != "info"
            else " (one summary line per request written)."
        ),
        "",
        "## Targets",
        "",
    ]
    lines += [f"- **{t.verdict}** {t.text}: {t.detail}" for t in targets]
    if missed:
        lines += ["", f"**{len(missed)} target(s) missed:** " + "; ".join(t.text for t in missed)]
    else:
        lines += ["", "All measured targets met."]
    bound = client_bound(results, scale)
    if bound:
        lines += [
            "",
            "**Load-generator bound:** at saturation the load generator kept most of a core"
            " busy for "
            + ", ".join(bound)
            + "; those figures are what one core of aiohttp client can push, a lower bound of"
            " the server's capacity. *Deliveries per server CPU-second* below compares the"
            " servers without that limit.",
        ]
    notes = [f"- {r.name}: {r.skipped}" for r in results if r.skipped]
    notes += [f"- {r.name}: **error** {r.error}" for r in results if r.error]
    if notes:
        lines += ["", "Not measured:", "", *notes]
    lines += [
        "",
        "## Details",
        "",
        _markdown_table(detail_rows(results, scale)),
        "",
        "CPU is in cores (1.00 = one core busy) over the measured saturation window, read from"
        " /proc: the server process alone; the whole machine (PostgreSQL's backends included);"
        " the load generator over its whole run. *Queue after saturation*: ingest/reconcile"
        " jobs still pending or running when the load stopped; *drain*: seconds until none"
        " were; *ingested*: inbox rows the worker had processed at the end.",
        "",
        "## Machine",
        "",
        *[f"- {key}: {value}" for key, value in machine.items()],
        "",
        "## How to reproduce",
        "",
        "```sh",
        "make bench                                  # full scale, rewrites this file",
        ".venv/bin/python -m tests.bench.run --quick --output /tmp/b.md   # CI's size",
        ".venv/bin/python -m tests.bench.run --scenarios reference,sqlite --duration 20",
        ".venv/bin/python -m tests.bench.run --scenarios e2e,storm --incidents 50",
        ".venv/bin/python -m tests.bench.run --scenarios soak --soak-days 28",
        "```",
        "",
        "PostgreSQL: `$PMHUB_TEST_POSTGRES_URL` or `--postgres-url` (default "
        "`postgresql+asyncpg://postgres@127.0.0.1:5432/test`); a fresh database is created for"
        " the run and dropped afterwards. The servers, the load generator"
        " (`tests/bench/loadgen.py`, aiohttp client, keep-alive, signed PagerDuty V3 deliveries"
        " with unique ids, a new incident every 20) and PostgreSQL share the machine's cores."
        " Exit status 1 if any acknowledged delivery is missing from the inbox.",
        "",
        "## Analysis",
        "",
        kept_notes(previous),
        "",
    ]
    return "\n".join(lines)
