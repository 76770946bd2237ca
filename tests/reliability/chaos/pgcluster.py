"""A private PostgreSQL cluster for scenario E: started by the run, restarted mid-stream.

The shared server on 5432 cannot be restarted under other people's feet, so the run
makes its own with the machine's `initdb`/`pg_ctl`, on a port of its own. PostgreSQL
refuses to run as root: as root, the binaries are run as the `postgres` user
(`runuser`), in a directory that user owns.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.reliability.chaos.fleet import free_port

POSTGRES_USER = "postgres"


def cluster_binaries() -> Path | None:
    """The newest PostgreSQL bin directory with initdb and pg_ctl, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_owner(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", POSTGRES_USER, "--", *command]


@dataclass
class PrivateCluster:
    bin: Path
    data: Path
    port: int
    restarts: int = 0

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{POSTGRES_USER}@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        command = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args]
        subprocess.run(_as_owner(command), check=True, capture_output=True)

    def start(self) -> None:
        log = self.data.parent / "postgres.log"
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data.parent}"
        self._pg_ctl("-l", str(log), "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "stop")

    async def restart(self, down_seconds: float) -> None:
        """Down hard (immediate: connections cut, no checkpoint), then back."""
        await asyncio.to_thread(self.stop, "immediate")
        await asyncio.sleep(down_seconds)
        await asyncio.to_thread(self.start)
        self.restarts += 1

    @classmethod
    @asynccontextmanager
    async def running(cls, _hint: Path) -> AsyncIterator[PrivateCluster]:
        binaries = cluster_binaries()
        if binaries is None:
            raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql")
        # Its own directory, readable by the postgres user (a pytest tmp_path is not).
        base = Path(tempfile.mkdtemp(prefix="pmhub-chaos-pg-"))
        base.chmod(0o755)
        data = base / "data"
        if os.geteuid() == 0:
            owner = pwd.getpwnam(POSTGRES_USER)
            os.chown(base, owner.pw_uid, owner.pw_gid)
        initdb = [str(binaries / "initdb"), "-D", str(data), "-U", POSTGRES_USER]
        initdb += ["--auth=trust", "--no-sync"]
        await asyncio.to_thread(subprocess.run, _as_owner(initdb), check=True, capture_output=True)
        cluster = cls(binaries, data, free_port())
        await asyncio.to_thread(cluster.start)
        try:
            yield cluster
        finally:
            with suppress(subprocess.CalledProcessError):  # already down
                await asyncio.to_thread(cluster.stop, "immediate")
            shutil.rmtree(base, ignore_errors=True)
