"""The whole-process scenarios of `python -m tests.bench.run` (issue 16): e2e, storm, soak.

Each runs its setups one after the other (SQLite, PostgreSQL, PostgreSQL with three
replicas; PostgreSQL ones are skipped, with a note, when the server cannot be reached).
A setup that breaks is reported with its error and the next one runs. Speed targets
are reported (`tests.bench.flow_report`), never enforced: only an effect done twice or
missing fails the run.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from tests.bench.e2e import E2eResult, run_e2e
from tests.bench.e2e import setups as e2e_setups
from tests.bench.soak import SoakResult, run_soak
from tests.bench.storm import QUICK_WINDOW_SECONDS, WINDOW_SECONDS, StormResult, run_storm
from tests.bench.storm import setups as storm_setups

FLOW_SCENARIOS = ("e2e", "storm", "soak")


@dataclass(frozen=True)
class FlowScale:
    e2e_incidents: int
    storm_incidents: int
    storm_window: float
    storm_timeout: float
    soak_days: int
    soak_per_day: int
    quick: bool


@dataclass
class FlowResults:
    e2e: list[E2eResult] = field(default_factory=list)
    storm: list[StormResult] = field(default_factory=list)
    soak: SoakResult | None = None

    @property
    def lost_or_duplicated(self) -> list[str]:
        """Every effect done twice or missing, by setup: what fails the run."""
        found = [(r.label, r.duplicates, r.missing) for r in self.e2e]
        found += [(r.label, sum(r.duplicates.values()), r.missing) for r in self.storm]
        problems = []
        for label, duplicates, missing in found:
            if duplicates:
                problems.append(f"{label}: {duplicates} effect(s) done twice")
            if missing:
                problems.append(f"{label}: {len(missing)} missing: {missing[:5]}")
        return problems

    @property
    def errors(self) -> list[str]:
        runs: list[E2eResult | StormResult | SoakResult] = [*self.e2e, *self.storm]
        if self.soak is not None:
            runs.append(self.soak)
        return [f"{getattr(r, 'label', 'soak')}: {r.error}" for r in runs if r.error]


def flow_scale(args: argparse.Namespace) -> FlowScale:
    quick = bool(args.quick)
    return FlowScale(
        e2e_incidents=args.e2e_incidents or (2 if quick else 20),
        storm_incidents=args.incidents or (3 if quick else 200),
        storm_window=args.storm_window or (QUICK_WINDOW_SECONDS if quick else WINDOW_SECONDS),
        storm_timeout=120.0 if quick else 1800.0,
        soak_days=args.soak_days or (2 if quick else 21),
        soak_per_day=args.soak_per_day or (1 if quick else 4),
        quick=quick,
    )


async def run_flow(
    names: list[str], scale: FlowScale, workdir: Path, postgres_url: str, postgres: bool
) -> FlowResults:
    results = FlowResults()
    if "e2e" in names:
        for setup in e2e_setups(scale.quick, postgres):
            _say(f"e2e: {setup.label}, {scale.e2e_incidents} incidents in a row")
            where = workdir / f"e2e-{setup.store}-{setup.vendor_latency:g}"
            try:
                result = await run_e2e(setup, scale.e2e_incidents, where, postgres_url)
            except Exception as error:  # noqa: BLE001 - reported; the next setup runs
                result = E2eResult(setup.label, setup.store, setup.vendor_latency, 0)
                result.error = _describe(error)
            results.e2e.append(result)
    if "storm" in names:
        for setup in storm_setups(scale.quick, postgres):
            _say(f"storm: {setup.label}, N={scale.storm_incidents}")
            where = workdir / f"storm-{setup.store}-{setup.replicas}"
            try:
                storm = await run_storm(
                    setup,
                    scale.storm_incidents,
                    where,
                    postgres_url,
                    window=scale.storm_window,
                    timeout=scale.storm_timeout,
                )
            except Exception as error:  # noqa: BLE001 - reported; the next setup runs
                storm = StormResult(setup.label, setup.store, setup.replicas, 0, 0.0)
                storm.error = _describe(error)
            results.storm.append(storm)
    if "soak" in names:
        _say(f"soak: {scale.soak_days} simulated days, {scale.soak_per_day} incidents a day")
        try:
            results.soak = await run_soak(scale.soak_days, scale.soak_per_day, workdir / "soak")
        except Exception as error:  # noqa: BLE001 - reported
            results.soak = SoakResult(scale.soak_days, scale.soak_per_day, error=_describe(error))
    return results


def _describe(error: BaseException) -> str:
    where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    at = f" (at {Path(where.filename).name}:{where.lineno})" if where else ""
    return f"{type(error).__name__}: {error}{at}"


def _say(what: str) -> None:
    print(f"bench: {what} …", file=sys.stderr, flush=True)
