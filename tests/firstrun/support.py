"""What the first-run checks share: a clone of the repository, processes, HTTP polls.

They run the README's commands (and an installed wheel) the way a new user would, so
they build virtual environments and take minutes: `make test` skips them unless asked
(PMHUB_TEST_README=1, PMHUB_TEST_WHEEL=1), and `.ci/run` asks, each in its own step.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).parents[2]


def wanted(variable: str) -> pytest.MarkDecorator:
    """Skip unless the environment asks for this check (it builds venvs: minutes)."""
    return pytest.mark.skipif(
        os.environ.get(variable) != "1", reason=f"builds virtual environments; set {variable}=1"
    )


def fresh_clone(destination: Path) -> Path:
    """`git clone` of the repository: its committed state, as a new user gets it."""
    subprocess.run(
        ["git", "clone", "--quiet", str(REPOSITORY), str(destination)],
        check=True,
        timeout=120,
    )
    return destination


def clean_env() -> dict[str, str]:
    """The caller's environment without this test run's virtual environment in it."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    venv_bin = os.environ.get("VIRTUAL_ENV", "") + "/bin"
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    return env


def wait_for_ok(url: str, process: subprocess.Popen[bytes], deadline_seconds: float) -> float:
    """Poll `url` until it answers 200; the seconds it took. Fails if the process exits."""
    started = time.monotonic()
    while time.monotonic() - started < deadline_seconds:
        if process.poll() is not None:
            pytest.fail(f"exited {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {deadline_seconds}s")


def wait_for_text(path: Path, text: str, process: subprocess.Popen[bytes], seconds: float) -> str:
    """Wait until the process's output (in `path`) contains `text`; the output so far."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        output = path.read_text(errors="replace")
        if text in output:
            return output
        if process.poll() is not None:
            pytest.fail(f"exited {process.returncode} before printing {text!r}:\n{output}")
        time.sleep(0.5)
    pytest.fail(f"no {text!r} within {seconds}s:\n{path.read_text(errors='replace')}")


def interrupt(process: subprocess.Popen[bytes]) -> int:
    """Ctrl-C, as a person would press it: SIGINT to the whole process group."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
