"""The replicas: real `pmhub serve` processes on one store, and the loop that kills them.

A kill is SIGKILL: no shutdown, no lease released, no buffered write flushed. A killed
replica is started again on the same port after a short pause, the way a supervisor
(systemd, Kubernetes) would bring it back.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

READY_TIMEOUT_SECONDS = 60.0
RESTART_PAUSE_SECONDS = 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Replica:
    name: str
    config: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    ready: bool = False  # answered /readyz since it was last started
    restarting: bool = False  # killed on purpose, about to be started again

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        self.ready = False
        # Logs go to a file: a pipe nobody reads would fill up and stall the daemon.
        with (self.config.parent / f"{self.name}.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hub", "serve", "--config", str(self.config)],
                stdout=log,
                stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.starts += 1

    def kill(self) -> None:
        self.ready = False
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM, the graceful way out; the exit status (None if it had to be killed)."""
        if self.process is None or self.process.poll() is not None:
            return None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def log_tail(self, chars: int = 3000) -> str:
        path = self.config.parent / f"{self.name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


@dataclass
class Fleet:
    """The replicas, a random number generator for the killer, and what it did."""

    replicas: list[Replica]
    rng: random.Random
    kills: int = 0
    crashes: int = 0  # exits nobody asked for (a replica that gave up on its database)
    kill_log: list[tuple[float, str]] = field(default_factory=list)

    def start_all(self) -> None:
        for replica in self.replicas:
            replica.start()

    async def wait_ready(self, replica: Replica, session: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if not replica.alive:
                raise RuntimeError(f"{replica.name} exited early:\n{replica.log_tail()}")
            try:
                async with session.get(f"{replica.url}/readyz") as response:
                    if response.status == 200:
                        replica.ready = True
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{replica.name} was not ready in {READY_TIMEOUT_SECONDS:.0f} s")

    async def wait_all_ready(self, session: aiohttp.ClientSession) -> None:
        await asyncio.gather(*(self.wait_ready(r, session) for r in self.replicas))

    def live(self) -> list[Replica]:
        return [r for r in self.replicas if r.alive] or self.replicas

    def pick(self) -> Replica:
        """A replica to send a request to (a load balancer's choice; may be dead)."""
        return self.rng.choice(self.live())

    async def kill_loop(
        self, every: float, stop: asyncio.Event, session: aiohttp.ClientSession
    ) -> None:
        """SIGKILL a random serving replica every `every` seconds (jittered) until `stop`.

        Only a replica that has come back (answered /readyz) is a candidate, and of
        several one always stays up: on a loaded machine a start takes longer than the
        pause between kills, and killing replicas still starting would test nothing but
        an outage. One replica alone (scenario B) is killed all the same.
        """
        started = time.monotonic()
        restarts: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            if await stopped(stop, every * self.rng.uniform(0.5, 1.5)):
                break
            serving = [r for r in self.replicas if r.ready and r.alive]
            if not serving or (len(self.replicas) > 1 and len(serving) < 2):
                continue
            victim = self.rng.choice(serving)
            victim.restarting = True
            victim.kill()
            self.kills += 1
            self.kill_log.append((round(time.monotonic() - started, 1), victim.name))
            await asyncio.sleep(RESTART_PAUSE_SECONDS)
            victim.start()
            victim.restarting = False
            restarts.add(asyncio.create_task(self._until_ready(victim, session)))
        for task in restarts:
            task.cancel()

    async def _until_ready(self, replica: Replica, session: aiohttp.ClientSession) -> None:
        with suppress(RuntimeError):  # died again before it was ready: the next start checks
            await self.wait_ready(replica, session)

    async def supervise(self, stop: asyncio.Event) -> None:
        """Start again, and count, a replica that exited on its own (as systemd would)."""
        while not await stopped(stop, 1.0):
            self.ensure_running()

    def ensure_running(self) -> None:
        for replica in self.replicas:
            if not replica.alive and not replica.restarting:
                self.crashes += 1
                replica.start()

    def stop_all(self) -> list[int | None]:
        return [replica.stop() for replica in self.replicas]


async def stopped(stop: asyncio.Event, within: float) -> bool:
    """Whether `stop` is set within `within` seconds (a pause that ends early on stop)."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=within)
    except TimeoutError:
        return False
    return True
