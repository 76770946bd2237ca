"""The e2e, storm and soak figures as tables, and issue 16's targets as PASS / MISS.

Targets are read from the figures of one run (this machine is shared and noisy: ratios
and side-by-side figures, never a timed test). `n/a`: the run did not measure it.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.bench.e2e import STAGES, E2eResult
from tests.bench.flow import FlowResults
from tests.bench.report import kept_notes
from tests.bench.soak import RETENTION_DAYS, SoakResult
from tests.bench.storm import StormResult

LATENCY_TARGET_SECONDS = 1.0
FLOOR_RATIO_TARGET = 1.1
PAGERDUTY_READS_TARGET = 3.0
CPU_MS_TARGET = 100.0
RSS_STEADY_TARGET_MB, RSS_PEAK_TARGET_MB = 150.0, 200.0
RSS_FLAT_RATIO = 1.10  # the soak's RSS at the end against its first week's
TIMER_RATIO_SPREAD = 1.5  # timers per open post-mortem, end against the first week


@dataclass(frozen=True)
class Verdict:
    text: str
    verdict: str  # PASS, MISS or n/a
    detail: str


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _table(rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return lines + ["| " + " | ".join(row) + " |" for row in rows[1:]]


# -- tables --------------------------------------------------------------------------------


def e2e_rows(results: list[E2eResult]) -> list[list[str]]:
    rows = [
        ["setup", "incidents", *(f"{s} p50 / p95 (s)" for s in STAGES), "never", "dup / missing"]
    ]
    for r in results:
        if r.error or r.skipped:
            rows.append([r.label, r.error or r.skipped or "", *["-"] * (len(STAGES) + 2)])
            continue
        cells = [f"{_fmt(r.quantile(s, 0.5))} / {_fmt(r.quantile(s, 0.95))}" for s in STAGES]
        never = ", ".join(f"{k}: {v}" for k, v in r.never.items()) or "0"
        rows.append(
            [r.label, str(r.incidents), *cells, never, f"{r.duplicates} / {len(r.missing)}"]
        )
    return rows


def storm_rows(results: list[StormResult]) -> list[list[str]]:
    header = [
        "setup",
        "N",
        "done (s)",
        "floor (s)",
        "x floor",
        "DM floor (s)",
        "x DM floor",
        "busiest channels (posts)",
        "429s (Slack / Statuspage / Jira)",
        "PD reads / incident",
        "CPU ms / incident",
        "RSS MB idle / after / peak",
        "DB KB / incident",
        "outcome p50 (s): DM / announcement / meeting",
        "dup / missing",
    ]
    rows = [header]
    for r in results:
        if r.error or r.skipped:
            rows.append([r.label, r.error or r.skipped or "", *["-"] * (len(header) - 2)])
            continue
        limits = r.vendor_429s
        p50 = r.outcome_p50
        rows.append(
            [
                r.label,
                str(r.incidents),
                _fmt(r.done_seconds, 1),
                _fmt(r.floor_seconds, 0),
                _fmt(r.floor_ratio),
                _fmt(r.dm_floor_seconds, 0),
                _fmt(r.dm_floor_ratio),
                ", ".join(f"{k}: {v}" for k, v in r.channel_posts.items()),
                " / ".join(str(limits.get(v, 0)) for v in ("slack", "statuspage", "jira")),
                _fmt(r.pagerduty_reads_per_incident, 1),
                _fmt(r.cpu_ms_per_incident, 0),
                f"{r.rss_idle_mb:.0f} / {r.rss_after_mb:.0f} / {r.rss_peak_mb:.0f}",
                _fmt(r.db_bytes_per_incident / 1024, 1),
                " / ".join(_fmt(p50.get(k), 1) for k in ("owner DM", "announcement", "meeting")),
                f"{sum(r.duplicates.values())} / {len(r.missing)}",
            ]
        )
    return rows


def soak_rows(soak: SoakResult) -> list[list[str]]:
    rows = [
        ["day", "RSS (MB)", "DB (MB)", "inbox", "jobs", "effects", "audit", "timers", "open PMs"]
    ]
    for s in soak.samples:
        rows.append(
            [
                str(s.day),
                f"{s.rss_mb:.0f}",
                f"{s.db_bytes / 1e6:.2f}",
                *(str(s.rows.get(t, 0)) for t in ("inbox", "jobs", "effects", "audit")),
                str(s.timers),
                str(s.open_postmortems),
            ]
        )
    return rows


# -- targets ---------------------------------------------------------------------------------


def targets(results: FlowResults) -> list[Verdict]:
    verdicts = []
    plain = {r.store: r for r in results.e2e if not r.vendor_latency and not r.error}
    for store, name in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        for stage in ("owner DM", "meeting"):
            text = f"e2e {name}: resolve → {stage} p95 < {LATENCY_TARGET_SECONDS:g} s"
            measured = plain.get(store)
            p95 = measured.quantile(stage, 0.95) if measured else None
            verdicts.append(_under(text, p95, LATENCY_TARGET_SECONDS, "s"))
    for r in results.storm:
        if r.error or r.skipped:
            continue
        text = f"storm {r.label} N={r.incidents}: done ≤ {FLOOR_RATIO_TARGET}x the DMs' floor"
        verdicts.append(_under(text, r.dm_floor_ratio, FLOOR_RATIO_TARGET, "x", inclusive=True))
        text = f"storm {r.label}: PagerDuty reads ≤ {PAGERDUTY_READS_TARGET:g} per incident"
        verdicts.append(
            _under(text, r.pagerduty_reads_per_incident, PAGERDUTY_READS_TARGET, "", inclusive=True)
        )
        text = f"storm {r.label}: CPU ≤ {CPU_MS_TARGET:g} ms per incident"
        verdicts.append(_under(text, r.cpu_ms_per_incident, CPU_MS_TARGET, "ms", inclusive=True))
        text = (
            f"storm {r.label}: RSS < {RSS_STEADY_TARGET_MB:g} MB after,"
            f" < {RSS_PEAK_TARGET_MB:g} MB peak"
        )
        ok = r.rss_after_mb < RSS_STEADY_TARGET_MB and r.rss_peak_mb < RSS_PEAK_TARGET_MB
        detail = f"{r.rss_after_mb:.0f} MB after, {r.rss_peak_mb:.0f} MB peak"
        verdicts.append(Verdict(text, "PASS" if ok else "MISS", detail))
        text = f"storm {r.label}: database size per incident stated"
        verdicts.append(Verdict(text, "PASS", f"{r.db_bytes_per_incident / 1024:.1f} KB"))
    verdicts.append(_scale_out(results.storm))
    verdicts += _soak_targets(results.soak)
    return verdicts


def _under(
    text: str, value: float | None, bound: float, unit: str, *, inclusive: bool = False
) -> Verdict:
    if value is None:
        return Verdict(text, "n/a", "not measured")
    ok = value <= bound if inclusive else value < bound
    return Verdict(text, "PASS" if ok else "MISS", f"{value:.2f}{' ' + unit if unit else ''}")


def _scale_out(storms: list[StormResult]) -> Verdict:
    text = "storm: PostgreSQL x 3 faster than x 1, no Slack 429 across replicas"
    by = {(r.store, r.replicas): r for r in storms if not r.error and r.done_seconds}
    one, three = by.get(("postgres", 1)), by.get(("postgres", 3))
    if one is None or three is None or not three.done_seconds or not one.done_seconds:
        return Verdict(text, "n/a", "not measured")
    ratio = one.done_seconds / three.done_seconds
    slack_429 = three.vendor_429s.get("slack", 0)
    ok = ratio > 1 and slack_429 == 0
    detail = (
        f"x 1 / x 3 = {ratio:.2f} ({one.done_seconds:.0f} s vs {three.done_seconds:.0f} s);"
        f" {slack_429} Slack 429s"
    )
    return Verdict(text, "PASS" if ok else "MISS", detail)


def _soak_targets(soak: SoakResult | None) -> list[Verdict]:
    names = (
        "soak: RSS flat",
        "soak: database bounded",
        "soak: timers proportional to open post-mortems",
    )
    if soak is None or soak.error or len(soak.samples) < 3:
        return [Verdict(n, "n/a", "not measured (too few days)") for n in names]
    first_week = soak.samples[: min(7, len(soak.samples) // 3 or 1)]
    last = soak.samples[-1]
    base_rss = max(s.rss_mb for s in first_week)
    rss = Verdict(
        names[0],
        "PASS" if last.rss_mb <= base_rss * RSS_FLAT_RATIO else "MISS",
        f"{last.rss_mb:.0f} MB at the end, {base_rss:.0f} MB in the first week",
    )
    deliveries_per_day = 3 * soak.incidents_per_day
    bound = (RETENTION_DAYS + 2) * deliveries_per_day
    bounded = last.rows.get("inbox", 0) <= bound
    db = Verdict(
        names[1],
        "PASS" if bounded else "MISS",
        f"{last.rows.get('inbox', 0)} inbox rows at the end (retention bound {bound}), "
        f"{last.db_bytes / 1e6:.1f} MB",
    )
    ratios = [s.timers / s.open_postmortems for s in soak.samples if s.open_postmortems]
    if not ratios:
        return [rss, db, Verdict(names[2], "n/a", "no open post-mortem")]
    spread = max(ratios) / max(min(ratios), 1e-9)
    timers = Verdict(
        names[2],
        "PASS" if spread <= TIMER_RATIO_SPREAD else "MISS",
        f"timers per open post-mortem {min(ratios):.1f} to {max(ratios):.1f}",
    )
    return [rss, db, timers]


# -- the report --------------------------------------------------------------------------------


def console(results: FlowResults) -> str:
    lines = []
    for title, rows in (("e2e", e2e_rows(results.e2e)), ("storm", storm_rows(results.storm))):
        if len(rows) > 1:
            lines += [f"{title}:", *("  " + " | ".join(row) for row in rows)]
    if results.soak is not None:
        lines += ["soak:", *("  " + " | ".join(row) for row in soak_rows(results.soak))]
        if results.soak.error:
            lines.append(f"  error: {results.soak.error}")
    lines += [f"{v.verdict:4}  {v.text}  ({v.detail})" for v in targets(results)]
    return "\n".join(lines)


def markdown_sections(results: FlowResults, command: str) -> list[str]:
    lines = ["## The whole process (issue 16)", "", f"Command: `{command}`.", ""]
    if results.e2e:
        lines += [
            "### e2e: one incident at a time",
            "",
            *_table(e2e_rows(results.e2e)),
            "",
            "Seconds from sending the resolve (after the incident's triggered and acknowledged"
            " deliveries settled) to each stage: its 202; the delivery ingested (inbox"
            " `processed_at`); the reconcile job finished; the first effect recorded; then,"
            " seen on the fakes (polled every 20 ms), the owner's DM, the announcement in the"
            " incidents channel and the meeting on the calendar. One `pmhub serve` process.",
            "",
        ]
    if results.storm:
        lines += [
            "### storm: N incidents at once",
            "",
            *_table(storm_rows(results.storm)),
            "",
            "Every incident triggered, acknowledged a second later and resolved a second after"
            " that, all sent within the window, each delivery to a random replica. *done*: from"
            " the first send until every incident's owner DM, announcement and meeting were"
            " visible at the fakes. *floor*: the busiest Slack channel's posts at Slack's one"
            " post a second per channel, every post of the run counted (some come after the"
            " outcomes measured: *x floor* can be below 1); *DM floor*: the owner DMs alone at"
            " one a second (every incident's owner is the same person here), issue 16's"
            ' "time the DMs and calendar alone need"; the calendar has no such limit.'
            " The fakes enforce"
            " the vendors' published limits (Slack 1 post/s per channel and the method tiers,"
            " Statuspage 1 request/s per key, Jira's burst limit) and count the refusals. CPU:"
            " the replicas' user + system time over the storm (/proc); RSS: the largest"
            " replica's. *dup / missing*: effects found twice at the vendors / effects not"
            " done or absent once all was quiet (any fails the run).",
            "",
        ]
    if results.soak is not None:
        soak = results.soak
        lines += [
            "### soak: simulated days with retention on",
            "",
            f"{soak.days} simulated days, {soak.incidents_per_day} incidents a day,"
            f" {soak.closed} post-mortems closed a week after their incident, in"
            f" {soak.seconds:.0f} s. Retention keeps {RETENTION_DAYS} days of deliveries and"
            " finished jobs.",
            "",
            *(_table(soak_rows(soak)) if soak.samples else ["(no sample)"]),
            "",
        ]
        if soak.error:
            lines += [f"**error:** {soak.error}", ""]
    lines += ["### Issue 16 targets", ""]
    lines += [f"- **{v.verdict}** {v.text}: {v.detail}" for v in targets(results)]
    problems = results.lost_or_duplicated + results.errors
    lines += (
        ["", *(f"- **FAILED** {p}" for p in problems)]
        if problems
        else ["", "No effect lost or duplicated."]
    )
    return [*lines, ""]


def compose(
    ingest_markdown: str | None, flow: list[str], machine: dict[str, str], previous: str
) -> str:
    """BENCHMARKS.md: the ingest report with the whole-process sections before its
    Analysis. A run without ingest keeps the previous file's ingest part (its own
    date and machine) rather than dropping it; with none, the sections stand alone."""
    notes = kept_notes(previous)
    if ingest_markdown is None and "## Analysis" in previous and "\n## Machine" in previous:
        end = previous.find(flow[0]) if flow and flow[0] in previous else -1
        kept = previous[: end if end >= 0 else previous.index("## Analysis")]
        ingest_markdown = f"{kept}## Analysis\n\n{notes}\n"
    if ingest_markdown is not None:
        at = ingest_markdown.index("## Analysis")
        return ingest_markdown[:at] + "\n".join(flow) + "\n" + ingest_markdown[at:]
    head = [
        "# Benchmarks",
        "",
        f"Generated by `python -m tests.bench.run` on {machine['date']}. Everything above"
        " *Analysis* is rewritten by each run; the Analysis section is kept.",
        "",
    ]
    tail = ["## Machine", "", *(f"- {k}: {v}" for k, v in machine.items()), ""]
    return "\n".join([*head, *flow, *tail, "## Analysis", "", notes, ""])
