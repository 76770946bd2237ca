"""The `pmhub demo` command: the sandbox, if its extra is installed.

The sandbox runs fakes that need what a daemon does not: `aiosmtpd` (the SMTP server
the results email arrives at) and `trustme` (the throwaway CA the TLS fakes use). They
come with the `demo` extra (`pip install 'pmhub[demo]'`; `make run` installs it), so the
sandbox is imported only when the command runs, and a missing extra is one clear line.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from hub.policy.shipped import PAGERDUTY_PROCESS, shipped_policy

DEMO_NEEDS = ("aiosmtpd", "trustme")


@click.command()
@click.option("--once", is_flag=True, help="Stop after the story; exit 1 if an effect is missing.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Where the daemon listens.")
@click.option("--port", default=8080, show_default=True, help="0 picks a free port.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/demo"),
    show_default=True,
    help="Store, configuration and CA of this run (replaced at each start).",
)
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"The policy file the daemon enforces.  [default: the shipped {PAGERDUTY_PROCESS}]",
)
def demo(once: bool, host: str, port: int, data_dir: Path, policy_path: Path | None) -> None:
    """Run the sandbox: the whole process on local fakes, no credentials needed."""
    try:
        from hub.demo.sandbox import SandboxOptions, run_demo  # noqa: PLC0415 - the extra
    except ModuleNotFoundError as missing:
        package = (missing.name or "").partition(".")[0]
        if package not in DEMO_NEEDS:
            raise
        click.echo(
            f"pmhub demo needs the demo extra ({package} is missing): "
            "pip install 'pmhub[demo]', or run `make run`",
            err=True,
        )
        sys.exit(2)
    # Package data, not a path in the repository: the demo runs from any folder, or a wheel.
    policy = (policy_path or shipped_policy(PAGERDUTY_PROCESS)).resolve()
    options = SandboxOptions(data_dir, policy, host=host, port=port)
    try:
        code = asyncio.run(run_demo(options, click.echo, once=once))
    except KeyboardInterrupt:
        code = 0
    sys.exit(code)
