"""The chaos run's figures: the console table, the targets, and RELIABILITY.md.

RELIABILITY.md is rewritten between the `chaos` markers only, so other sections
(retention, written by another tool) survive a run.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tests.bench.report import machine_description
from tests.reliability.chaos.scenario import LEASE_SECONDS, RETRY_CAP_SECONDS, Params, Result
from tests.reliability.chaos.tally import Tally

# The targets, each a count that must be 0 at the end of every scenario.
TARGETS = ("duplicates", "lost", "unprocessed", "missing", "changes_lost", "dead_jobs")
# Every target is enforced: the CI run and `make chaos` fail on any miss.
STRICT = TARGETS
# Quiet is the time to finish the work left when the disturbance ends (at full size some
# 600 jobs are due then, and finishing them sets off more). The bound: one retry delay at
# most (the cap), one lease (a job a killed replica held is taken over when it runs
# out), a margin, and the jobs finished after the disturbance at no less than
# `FLOOR_JOBS_PER_SECOND` (3 replicas x 4 workers on the shared 2-core machine).
FLOOR_JOBS_PER_SECOND = 1.0
QUIET_MARGIN_SECONDS = 60.0


def quiet_bound(result: Result) -> float | None:
    """Seconds within which the run should be quiet; None if the run did not count its jobs."""
    if result.jobs_after_calm is None:
        return None
    fixed = RETRY_CAP_SECONDS + LEASE_SECONDS + QUIET_MARGIN_SECONDS
    return fixed + result.jobs_after_calm / FLOOR_JOBS_PER_SECOND


CHAOS_BEGIN, CHAOS_END = "<!-- chaos:begin -->", "<!-- chaos:end -->"
HEADER = "# Reliability\n"


def figures(result: Result) -> dict[str, int]:
    tally = result.tally
    if tally is None:
        return {}
    return {
        "duplicates": tally.duplicate_count,
        "lost": len(tally.lost),
        "unprocessed": len(tally.unprocessed),
        "missing": len(tally.missing),
        "changes_lost": len(tally.changes_lost),
        "dead_jobs": len(tally.dead_jobs),
    }


def misses(result: Result, strict: tuple[str, ...] = STRICT) -> list[str]:
    """The strict targets this result missed (a run that did not finish misses them all)."""
    if result.skipped:
        return []
    if result.tally is None:
        return [f"scenario {result.params.scenario} did not finish: {result.error}"]
    found = figures(result)
    missed = [f"{name} = {found[name]}" for name in strict if found[name]]
    if result.quiet_seconds is None:
        missed.append("never quiet")
    return missed


def as_json(result: Result) -> dict[str, Any]:
    return {
        "params": asdict(result.params),
        "figures": figures(result),
        "tally": result.tally.as_json() if result.tally else None,
        "kills": result.kills,
        "db_restarts": result.db_restarts,
        "crashes": result.crashes,
        "quiet_seconds": result.quiet_seconds,
        "run_seconds": result.run_seconds,
        "faults_injected": result.faults_injected,
        "webhook_answers": result.webhook_answers,
        "skipped": result.skipped,
        "error": result.error,
        "code": result.code,
        "backlog_at_calm": result.backlog_at_calm,
        "jobs_after_calm": result.jobs_after_calm,
    }


def from_json(data: dict[str, Any]) -> Result:
    """A result as `as_json` wrote it (`--render` combines scenarios run apart)."""
    tally = None
    if data["tally"] is not None:
        tally = Tally(**data["tally"])
    return Result(
        Params(**data["params"]),
        tally=tally,
        kills=data["kills"],
        db_restarts=data.get("db_restarts", 0),
        crashes=data.get("crashes", 0),
        quiet_seconds=data["quiet_seconds"],
        run_seconds=data["run_seconds"],
        webhook_answers=data.get("webhook_answers", {}),
        faults_injected=data["faults_injected"],
        skipped=data["skipped"],
        error=data["error"],
        code=data.get("code", ""),
        backlog_at_calm=data.get("backlog_at_calm"),
        jobs_after_calm=data.get("jobs_after_calm"),
    )


COLUMNS = (
    "scenario",
    "incidents",
    "replicas",
    "store",
    "kills",
    "faults",
    "acked",
    "effects",
    *TARGETS,
    "quiet s",
    "run s",
    "code",
)


def _row(result: Result) -> list[str]:
    p = result.params
    head = [p.scenario, str(p.incidents), str(p.replicas), p.store]
    if result.skipped or result.tally is None:
        why = result.skipped or result.error or "?"
        return [*head, *(["-"] * (len(COLUMNS) - len(head) - 1)), why]
    t, found = result.tally, figures(result)
    faults = sum(result.faults_injected.values())
    return [
        *head,
        str(result.kills),
        f"{faults} ({p.fault_rate:.0%})" if p.fault_rate else "0",
        f"{t.deliveries_acknowledged}",
        str(t.effects_done),
        *(str(found[name]) for name in TARGETS),
        "never" if result.quiet_seconds is None else f"{result.quiet_seconds:.0f}",
        f"{result.run_seconds:.0f}",
        result.code or "?",
    ]


def render_table(results: list[Result]) -> str:
    rows = [list(COLUMNS), *(_row(r) for r in results)]
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    details = [
        f"{r.params.scenario}: {name}: {', '.join(items[:5])}"
        for r in results
        if r.tally
        for name, items in (
            ("lost", r.tally.lost),
            ("missing", r.tally.missing),
            ("superseded (not missing)", r.tally.superseded),
            ("changes lost", r.tally.changes_lost),
            ("dead jobs", r.tally.dead_jobs),
            ("duplicates", list(r.tally.duplicates)),
        )
        if items
    ]
    return "\n".join([*lines, *details])


def _markdown_table(results: list[Result]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_row(r)) + " |" for r in results]
    return "\n".join(lines)


def _verdicts(results: list[Result]) -> list[str]:
    lines = []
    for result in results:
        name = result.params.scenario
        if result.skipped:
            lines.append(f"- {name}: skipped ({result.skipped})")
            continue
        all_missed = misses(result)
        verdict = "FAIL" if all_missed else "PASS"
        quiet, bound = result.quiet_seconds, quiet_bound(result)
        if quiet is not None and bound is None:
            all_missed.append("quiet not checked (the run did not count the jobs after calm)")
        elif quiet is not None and bound is not None and quiet > bound:
            all_missed.append(f"quiet after {quiet:.0f} s > its bound {bound:.0f} s")
            verdict = "SLOW" if verdict == "PASS" else verdict  # every count 0, but late
        lines.append(
            f"- {name}: **{verdict}**" + (f" — {'; '.join(all_missed)}" if all_missed else "")
        )
    return lines


def _counts(answers: dict[str, int]) -> str:
    return ", ".join(f"{status} x{n}" for status, n in answers.items()) or "-"


def _details(results: list[Result]) -> list[str]:
    lines = []
    for r in results:
        if r.tally is None:
            continue
        faults = ", ".join(f"{vendor} {n}" for vendor, n in r.faults_injected.items()) or "none"
        answers = _counts(r.webhook_answers)
        superseded = r.tally.superseded
        drained = "not counted"
        if r.jobs_after_calm is not None and r.quiet_seconds:
            rate = r.jobs_after_calm / r.quiet_seconds
            drained = (
                f"{r.backlog_at_calm} jobs running or due, {r.jobs_after_calm} finished until quiet"
                f" ({rate:.1f} a second), bound {quiet_bound(r):.0f} s"
            )
        lines.append(
            f"- {r.params.scenario}: {r.kills} SIGKILLs, {r.db_restarts} database restarts,"
            f" {r.crashes} replica exits nobody asked for (started again);"
            f" webhook attempts answered {answers};"
            f" people's changes answered {_counts(r.tally.change_answers)};"
            f" vendor faults injected: {faults};"
            f" effects the plans at the end owe: {r.tally.effects_owed} (each done unless"
            " counted missing);"
            f" superseded (no longer planned): {_by_shape(superseded)};"
            f" at the end of the disturbance: {drained}"
        )
    return lines


def _by_shape(keys: list[str]) -> str:
    """Effect keys counted by shape (incident, event id and time left out): 56 notices
    to one person read as one line, not 56."""
    if not keys:
        return "none"
    shapes = Counter(
        _TIME.sub("@<time>", _LONG_ID.sub("<event>", _INCIDENT_PART.sub("", key))) for key in keys
    )
    return ", ".join(f"{n} x {shape}" for shape, n in shapes.most_common())


_INCIDENT_PART = re.compile(r"^pm:[^:]+:[^:]+:")
_LONG_ID = re.compile(r"\b[0-9a-z]{20,}\b")
_TIME = re.compile(r"@\S+Z")


def render_markdown(results: list[Result], pg_version: str | None, seed: int, quick: bool) -> str:
    machine = machine_description(pg_version)
    size = "CI size (--quick)" if quick else "full size"
    scenarios = "".join(f" --scenario {r.params.scenario}" for r in results)
    incidents = max((r.params.incidents for r in results), default=0)
    return "\n".join(
        [
            CHAOS_BEGIN,
            "## The chaos run",
            "",
            "Written by `make chaos` (`python -m tests.reliability.chaos`); do not edit by hand.",
            "Real `pmhub serve` processes on one store, PagerDuty deliveries streamed with",
            "duplicates and reordering (each retried until answered 2xx, as PagerDuty does),",
            "people acting through the admin API with Idempotency-Keys (a new owner, a",
            "follow-up, the move to In Review), a random replica SIGKILLed every few seconds,",
            "and the vendor fakes failing a share of calls at random (seeded): 503, 429 with",
            "Retry-After, hangs, done-then-connection-dropped, done-then-answered-too-late.",
            "",
            "Scenarios: **A** replicas on PostgreSQL, kill -9 loop · **B** one process on",
            "SQLite, killed repeatedly · **C** A with 30 % vendor faults · **D** A with Slack",
            "down (503 to everything) for `outage_seconds`, then back · **E** one replica on",
            "a private PostgreSQL cluster (`initdb`/`pg_ctl`) restarted mid-stream.",
            "",
            f"### Figures ({size}, seed {seed}; the sizes are in the table)",
            "",
            _markdown_table(results),
            "",
            "Counts, each per effect on the fakes or per delivery/change: **duplicates** an",
            "effect found twice on its vendor (same effect key); **lost** a delivery answered",
            "202 that is not in the inbox; **unprocessed** one stored but never processed;",
            "**missing** an effect pmhub set out to do and did not (its ledger row not done at",
            "the end), one the post-mortems' plans at the end owe and the ledger does not show",
            "done for exactly that intent (never begun, or done for an earlier version of it),",
            "or an incident without a post-mortem or without a meeting on the calendar",
            "(an attempt cut off whose intent the post-mortem's plan at the end no longer holds -",
            "a meeting read-back check of an hour gone by, a notice to an owner who handed over",
            "before being told - is counted apart as superseded and listed below, not missing);",
            "**changes_lost** a person's change answered 2xx and not there at the end;",
            "**dead_jobs** jobs dead-lettered. **quiet s**: from the end of the disturbance (last",
            "delivery acknowledged, last change answered, last kill) until no job is running or",
            "due or waiting to be retried, and the fakes have been still 2 s. A change answered",
            "4xx was refused, not lost.",
            "",
            "Targets: every count 0 (all enforced); quiet within its bound:"
            f" {RETRY_CAP_SECONDS:g} s (the replicas' retry cap) + {LEASE_SECONDS} s (their"
            f" lease) + {QUIET_MARGIN_SECONDS:.0f} s + the jobs finished after the disturbance"
            f" (the work it left) at {FLOOR_JOBS_PER_SECOND:g} a second; see the notes below.",
            "",
            *_verdicts(results),
            "",
            "What each run went through:",
            "",
            *_details(results),
            "",
            "### Machine",
            "",
            *(f"- {key}: {value}" for key, value in machine.items()),
            "",
            "### Reproduce",
            "",
            "```",
            "make chaos                                  # every scenario, full size",
            f"python -m tests.reliability.chaos --seed {seed} --incidents {incidents}{scenarios}"
            + (" --quick" if quick else ""),
            "pytest -m slow tests/reliability/test_chaos.py   # the CI size",
            "```",
            CHAOS_END,
        ]
    )


def write_markdown(
    path: Path, results: list[Result], pg_version: str | None, seed: int, quick: bool
) -> None:
    section = render_markdown(results, pg_version, seed, quick)
    previous = path.read_text() if path.exists() else HEADER
    start, end = previous.find(CHAOS_BEGIN), previous.find(CHAOS_END)
    if start != -1 and end != -1:
        text = previous[:start] + section + previous[end + len(CHAOS_END) :]
    else:
        text = previous.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
