"""`pmhub serve` and `pmhub check` that cannot go on: one clear line, a non-zero exit, no trace.

Run as a person runs them, in their own process, so whatever reaches stderr (a
logged traceback included) is what the test reads.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import OneLineErrors, main

POLICY = Path(__file__).resolve().parents[2] / "config" / "policies" / "pagerduty-process.yaml"


def pmhub(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PMHUB_CONFIG": ""},
    )


def write_config(
    directory: Path, *, store: str | None = None, port: int = 0, extra: str = ""
) -> Path:
    url = store or f"sqlite+aiosqlite:///{directory}/pmhub.db"
    path = directory / "pmhub.yaml"
    path.write_text(f'server: {{port: {port}}}\nstore: {{url: "{url}"}}\n{extra}')
    return path


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("pmhub: ")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on (bound, not listening, so nobody else takes it)."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_an_unreachable_database_is_one_line_naming_the_store(
    tmp_path: Path, closed_port: int
) -> None:
    url = f"postgresql+asyncpg://pmhub:hunter2-secret@127.0.0.1:{closed_port}/pmhub"
    result = pmhub("serve", "--config", str(write_config(tmp_path, store=url)))
    line = assert_one_clear_line(
        result, "store", f"127.0.0.1:{closed_port}", "could not be reached"
    )
    assert "hunter2-secret" not in result.stderr
    assert "pmhub:***@" in line


def test_a_port_in_use_is_one_line_naming_the_address(tmp_path: Path, busy_port: int) -> None:
    result = pmhub("serve", "--config", str(write_config(tmp_path, port=busy_port)))
    assert_one_clear_line(result, f"127.0.0.1:{busy_port}", "in use")


@pytest.mark.parametrize("command", ["serve", "check"])
def test_a_missing_config_file_is_one_positioned_line(tmp_path: Path, command: str) -> None:
    missing = tmp_path / "nowhere" / "pmhub.yaml"
    result = pmhub(command, "--config", str(missing))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0] == f"{missing}:1:1: config file not found"


@pytest.mark.parametrize("command", ["serve", "check"])
def test_a_directory_named_as_a_policy_file_is_one_positioned_line(
    tmp_path: Path, command: str
) -> None:
    (tmp_path / "policies").mkdir()
    config = write_config(tmp_path, extra="policies:\n  - policies\n")
    result = pmhub(command, "--config", str(config))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0].startswith(f"{config}:4:5: ")
    assert "not a file" in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any directory")
@pytest.mark.parametrize("command", ["serve", "check"])
def test_an_unreadable_policy_directory_is_one_positioned_line(
    tmp_path: Path, command: str
) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "process.yaml").write_text(POLICY.read_text())
    config = write_config(tmp_path, extra="policies:\n  - policies/process.yaml\n")
    policies.chmod(0)
    try:
        result = pmhub(command, "--config", str(config))
    finally:
        policies.chmod(0o755)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0].startswith(f"{config}:4:5: ")


def unforeseen() -> OneLineErrors:
    """A command group like `pmhub`'s, with a command that fails as nobody foresaw."""
    group = OneLineErrors(name="pmhub")

    @group.command()
    def boom() -> None:
        raise RuntimeError("the disk\nis full")

    return group


def test_an_unforeseen_failure_is_one_line_and_exit_1() -> None:
    assert isinstance(main, OneLineErrors)  # every pmhub command runs under it
    result = CliRunner().invoke(unforeseen(), ["boom"], env={"PMHUB_DEBUG": ""})
    assert result.exit_code == 1
    assert result.output == "pmhub: RuntimeError: the disk is full (PMHUB_DEBUG=1 shows where)\n"


def test_pmhub_debug_lets_the_traceback_through() -> None:
    result = CliRunner().invoke(unforeseen(), ["boom"], env={"PMHUB_DEBUG": "1"})
    assert isinstance(result.exception, RuntimeError)


@pytest.mark.parametrize("command", ["serve", "check"])
def test_a_policy_file_that_is_not_text_is_one_positioned_line(
    tmp_path: Path, command: str
) -> None:
    (tmp_path / "process.yaml").write_bytes(b"\xff\xfe\x00 not text")
    config = write_config(tmp_path, extra="policies:\n  - process.yaml\n")
    result = pmhub(command, "--config", str(config))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{tmp_path / 'process.yaml'}:1:1: cannot read policy file")


@pytest.mark.skipif(
    not os.environ.get("PMHUB_TEST_POSTGRES_URL"), reason="PMHUB_TEST_POSTGRES_URL is not set"
)
def test_a_database_that_does_not_exist_is_one_line_without_sqlalchemy_noise(
    tmp_path: Path,
) -> None:
    server = os.environ["PMHUB_TEST_POSTGRES_URL"].rsplit("/", 1)[0]
    url = f"{server}/pmhub_no_such_database"
    result = pmhub("serve", "--config", str(write_config(tmp_path, store=url)))
    line = assert_one_clear_line(result, "could not be reached", "does not exist")
    assert "Background on this error" not in line
