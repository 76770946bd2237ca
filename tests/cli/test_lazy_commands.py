"""`pmhub` imports a subcommand's module only when that subcommand runs: every CLI
process (`pmhub check` in CI, the migration Job of a rollout) starts that much sooner."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from hub.cli import main

HEAVY = ("hub.app", "hub.cli.serve", "hub.cli.doctor", "hub.cli.simulate", "aiohttp.web")


def test_the_command_line_does_not_import_the_daemon_until_serve_runs() -> None:
    probe = f"import sys, hub.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_every_command_is_listed_and_each_lazy_one_loads() -> None:
    listed = CliRunner().invoke(main, ["--help"])
    assert listed.exit_code == 0
    commands = listed.output.split("Commands:", 1)[1]
    names = [line.split()[0] for line in commands.splitlines() if line.strip()]
    assert names == [
        "check",
        "demo",
        "doctor",
        "jobs",
        "migrate",
        "policy",
        "report",
        "schema",
        "serve",
        "sign",
        "simulate",
    ]
    for name in names:
        helped = CliRunner().invoke(main, [name, "--help"])
        assert helped.exit_code == 0, (name, helped.output)
        assert "Usage: " in helped.output
