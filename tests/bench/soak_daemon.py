"""`pmhub serve` with a clock the soak benchmark moves: `python -m tests.bench.soak_daemon`.

The same start as `hub.cli.serve` (configuration, policies, listeners, the served app),
with one difference: the app's clock is the real one plus an offset read from a file
whenever the process gets SIGUSR1. The soak run writes a day further into the file and
signals, and the daemon lives through weeks in minutes: timers come due, retention
runs, at the rate the simulated days pass. Leases are read from the same clock, so the
run moves the clock only while nothing is running.
"""

from __future__ import annotations

import argparse
import signal
from datetime import datetime, timedelta
from pathlib import Path

from hub.app import create_app
from hub.cli.common import load_all_or_exit
from hub.logging import configure_logging
from hub.runtime import utc_now
from hub.web.listeners import bind_listeners
from hub.web.serving import serve


class ShiftedClock:
    """utc_now() plus the offset in seconds last read from `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = timedelta()
        self.reload()

    def reload(self, *_: object) -> None:
        text = self.path.read_text().strip() if self.path.exists() else ""
        self.offset = timedelta(seconds=float(text or 0))

    def __call__(self) -> datetime:
        return utc_now() + self.offset


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.soak_daemon")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--offset-file", type=Path, required=True)
    args = parser.parse_args(argv)
    settings, policies = load_all_or_exit(args.config)
    configure_logging(level=settings.log.level, fmt=settings.log.format, secrets=[])
    clock = ShiftedClock(args.offset_file)
    signal.signal(signal.SIGUSR1, clock.reload)
    listeners = bind_listeners(settings.server)
    app = create_app(settings, policies=policies, clock=clock, admin_port=listeners.admin_port)
    try:
        serve(app, listeners.sockets, settings.server)
    finally:
        listeners.close()


if __name__ == "__main__":
    main()
