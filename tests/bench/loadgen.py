"""The load generator, run as its own process so it never shares a core's event loop
with the server it measures.

    python -m tests.bench.loadgen --url http://127.0.0.1:PORT/webhooks/pagerduty \
        --mode saturate|rate --prefix ID [options]

It sends signed PagerDuty V3 deliveries (`tests.support.signing.pagerduty_delivery`)
over keep-alive connections, each with a unique `X-Webhook-Id` (`<prefix>-<n>`) and
a new incident every `--per-incident` deliveries, the way an incident storm looks.

* `saturate`: `--concurrency` requests always in flight (closed loop) for
  `--warmup` + `--duration` seconds, at most `--max-requests`; the rate of 202s
  completed inside the measured window is the throughput.
* `rate`: open loop at `--rate` deliveries/s: each delivery is sent at its scheduled
  time whatever happened to the earlier ones, and its latency is counted from that
  scheduled time, so a stalled server is not hidden by a stalled client
  (coordinated omission). Bodies are signed before the clock starts.

Prints one JSON object on stdout; writes the ids of every delivery answered 202
(warm-up included) to `--ids-file`, so the caller can check each one is stored.
Every loop is bounded in count and in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.signing import PAGERDUTY_SECRET, pagerduty_delivery

REQUEST_TIMEOUT_SECONDS = 10.0  # over PagerDuty's 5 s, so a slow answer is measured, not lost
_LIFECYCLE = ("incident.triggered", "incident.acknowledged", "incident.resolved")

Item = tuple[str, bytes, dict[str, str]]  # webhook id, body, headers


class Deliveries:
    """Signed deliveries with unique ids; `per_incident` consecutive ones share an incident."""

    def __init__(self, prefix: str, secret: str, per_incident: int) -> None:
        self.prefix, self.secret, self.per_incident = prefix, secret, max(1, per_incident)
        self.made = 0

    def next(self) -> Item:
        n = self.made
        self.made += 1
        position = n % self.per_incident
        if position == 0:
            event_type = _LIFECYCLE[0]
        elif position == self.per_incident - 1:
            event_type = _LIFECYCLE[2]
        else:
            event_type = _LIFECYCLE[1]
        webhook_id = f"{self.prefix}-{n}"
        body, headers = pagerduty_delivery(
            event_type,
            incident_id=f"Q{self.prefix}-{n // self.per_incident}".upper(),
            webhook_id=webhook_id,
            secret=self.secret,
            extra_data={"status": event_type.removeprefix("incident.")},
        )
        return webhook_id, body, headers


@dataclass
class Tally:
    """What came back. Latencies (seconds) only for measured requests answered 202."""

    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    accepted_ids: list[str] = field(default_factory=list)
    sent: int = 0
    measured_sent: int = 0
    measured_non_202: int = 0


async def send(
    session: aiohttp.ClientSession,
    url: str,
    item: Item,
    *,
    tally: Tally,
    started: float,
    measured: Callable[[float], bool],
) -> None:
    """POST one delivery; `measured(completed_at)` says whether it counts."""
    webhook_id, body, headers = item
    tally.sent += 1
    status: int | None = None
    try:
        async with session.post(url, data=body, headers=headers) as response:
            await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        tally.errors[type(exc).__name__] += 1
    completed = time.perf_counter()
    if status is not None:
        tally.statuses[str(status)] += 1
        if status == 202:
            tally.accepted_ids.append(webhook_id)
    if measured(completed):
        tally.measured_sent += 1
        if status == 202:
            tally.latencies.append(completed - started)
        else:
            tally.measured_non_202 += 1


@dataclass(frozen=True)
class Window:
    """The measured part of a run, in `time.perf_counter()` seconds."""

    start: float
    end: float


async def saturate(
    session: aiohttp.ClientSession,
    url: str,
    deliveries: Deliveries,
    tally: Tally,
    *,
    concurrency: int,
    warmup: float,
    duration: float,
    max_requests: int,
    on_window: Callable[[str], None],
) -> Window:
    begin = time.perf_counter()
    window_start, end = begin + warmup, begin + warmup + duration
    last_done = [window_start]
    started_window = [False]

    def in_window(at: float) -> bool:
        if window_start <= at <= end:
            last_done[0] = max(last_done[0], at)
            return True
        return False

    async def one_connection() -> None:
        while time.perf_counter() < end and deliveries.made < max_requests:
            if not started_window[0] and time.perf_counter() >= window_start:
                started_window[0] = True
                on_window("start")
            item = deliveries.next()
            await send(
                session, url, item, tally=tally, started=time.perf_counter(), measured=in_window
            )

    await asyncio.gather(*(one_connection() for _ in range(concurrency)))
    on_window("end")
    # Stopped early by --max-requests: the window is as long as the work inside it.
    return Window(window_start, min(end, last_done[0]))


async def constant_rate(
    session: aiohttp.ClientSession,
    url: str,
    deliveries: Deliveries,
    tally: Tally,
    *,
    rate: float,
    warmup: float,
    duration: float,
    on_window: Callable[[str], None],
) -> tuple[Window, float]:
    warm, measured = round(rate * warmup), max(1, round(rate * duration))
    items = [deliveries.next() for _ in range(warm + measured)]
    pending: set[asyncio.Task[None]] = set()
    begin = time.perf_counter() + 0.05
    max_lag = 0.0
    for index, item in enumerate(items):
        scheduled = begin + index / rate
        if index == warm:
            on_window("start")
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        max_lag = max(max_lag, time.perf_counter() - scheduled)
        is_measured = index >= warm
        task = asyncio.create_task(
            send(
                session,
                url,
                item,
                tally=tally,
                started=scheduled,
                measured=_always if is_measured else _never,
            )
        )
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        _done, unfinished = await asyncio.wait(pending, timeout=REQUEST_TIMEOUT_SECONDS + 5)
        for task in unfinished:
            task.cancel()
            tally.errors["Unfinished"] += 1
    on_window("end")
    return Window(begin + warm / rate, begin + len(items) / rate), max_lag


def _always(_at: float) -> bool:
    return True


def _never(_at: float) -> bool:
    return False


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values; None when there are none."""
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), math.ceil(fraction * len(sorted_values))))
    return sorted_values[rank - 1]


class CpuMeter:
    """CPU used by one process (the server) and by the whole machine, from /proc."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.ticks = os.sysconf("SC_CLK_TCK")
        self._start: tuple[float | None, tuple[int, int] | None, float] | None = None
        self.result: dict[str, float | None] = {}

    def _process_seconds(self) -> float | None:
        if self.pid is None:
            return None
        try:
            raw = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return None
        fields = raw.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.ticks  # utime + stime

    @staticmethod
    def _machine() -> tuple[int, int] | None:
        try:
            first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        except (OSError, IndexError):
            return None
        values = [int(v) for v in first]
        idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
        return sum(values) - idle, sum(values)

    def mark(self, what: str) -> None:
        now = time.perf_counter()
        if what == "start":
            self._start = (self._process_seconds(), self._machine(), now)
            return
        if self._start is None:
            return
        proc0, machine0, t0 = self._start
        proc1, machine1 = self._process_seconds(), self._machine()
        elapsed = max(now - t0, 1e-9)
        server = None if proc0 is None or proc1 is None else (proc1 - proc0) / elapsed
        machine = None
        if machine0 is not None and machine1 is not None and machine1[1] > machine0[1]:
            cores = os.cpu_count() or 1
            machine = (machine1[0] - machine0[0]) / (machine1[1] - machine0[1]) * cores
        # In cores: 1.0 is one core fully busy.
        self.result = {"server_cores": server, "machine_cores": machine}


def summarise(tally: Tally, window: Window, cpu: dict[str, float | None]) -> dict[str, Any]:
    seconds = max(window.end - window.start, 1e-9)
    latencies = sorted(tally.latencies)

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 2)

    return {
        "sent": tally.sent,
        "statuses": dict(tally.statuses),
        "errors": dict(tally.errors),
        "accepted": len(tally.accepted_ids),
        "measured_seconds": round(seconds, 3),
        "measured_sent": tally.measured_sent,
        "measured_accepted": len(latencies),
        "measured_non_202": tally.measured_non_202,
        "throughput": round(len(latencies) / seconds, 1),
        "latency_ms": {
            "p50": ms(percentile(latencies, 0.50)),
            "p95": ms(percentile(latencies, 0.95)),
            "p99": ms(percentile(latencies, 0.99)),
            "max": ms(latencies[-1] if latencies else None),
        },
        "cpu": cpu,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    deliveries = Deliveries(args.prefix, args.secret, args.per_incident)
    tally = Tally()
    meter = CpuMeter(args.server_pid)
    own_start = resource.getrusage(resource.RUSAGE_SELF)
    connector = aiohttp.TCPConnector(limit=args.concurrency, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    extra: dict[str, Any] = {}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        if args.mode == "saturate":
            window = await saturate(
                session,
                args.url,
                deliveries,
                tally,
                concurrency=args.concurrency,
                warmup=args.warmup,
                duration=args.duration,
                max_requests=args.max_requests,
                on_window=meter.mark,
            )
        else:
            window, lag = await constant_rate(
                session,
                args.url,
                deliveries,
                tally,
                rate=args.rate,
                warmup=args.warmup,
                duration=args.duration,
                on_window=meter.mark,
            )
            extra["max_schedule_lag_ms"] = round(lag * 1000, 2)
    own_end = resource.getrusage(resource.RUSAGE_SELF)
    own_cpu = own_end.ru_utime + own_end.ru_stime - own_start.ru_utime - own_start.ru_stime
    cpu = {**meter.result, "loadgen_cpu_seconds": round(own_cpu, 2)}
    if args.ids_file is not None:
        args.ids_file.write_text("".join(f"{i}\n" for i in tally.accepted_ids))
    return {"mode": args.mode, **summarise(tally, window, cpu), **extra}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="pmhub webhook load generator")
    parser.add_argument("--url", required=True)
    parser.add_argument("--mode", choices=("saturate", "rate"), required=True)
    parser.add_argument("--prefix", required=True, help="unique per run: delivery ids are P-n")
    parser.add_argument("--secret", default=PAGERDUTY_SECRET)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rate", type=float, default=200.0, help="deliveries/s (rate mode)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="saturate bound")
    parser.add_argument("--per-incident", type=int, default=20)
    parser.add_argument("--server-pid", type=int, default=None, help="to measure its CPU")
    parser.add_argument("--ids-file", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0 or args.concurrency <= 0 or args.warmup < 0:
        parser.error("--rate, --duration and --concurrency must be > 0, --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> None:
    result = asyncio.run(run(parse_args(argv)))
    print(json.dumps(result, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
