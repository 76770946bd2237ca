"""`worker.linger_seconds` in pmhub.yaml (issue 16): read, validated, wrong values placed."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hub.config import ConfigError, settings_from_text


def test_the_linger_is_read_from_the_worker_section(tmp_path: Path) -> None:
    text = "worker:\n  linger_seconds: 0.02\n"
    settings = settings_from_text(text, path=tmp_path / "pmhub.yaml", env={})
    assert settings.worker.linger_seconds == 0.02


def test_the_linger_defaults_to_a_tenth_of_a_second(tmp_path: Path) -> None:
    settings = settings_from_text("worker: {}\n", path=tmp_path / "pmhub.yaml", env={})
    assert settings.worker.linger_seconds == 0.1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "worker.linger_seconds: must be at least 0"),
        ("6", "worker.linger_seconds: must be at most 5"),
        ("abc", "worker.linger_seconds: expected a number"),
    ],
)
def test_a_wrong_linger_is_reported_at_its_line(value: str, message: str, tmp_path: Path) -> None:
    text = textwrap.dedent(f"""\
        worker:
          concurrency: 2
          linger_seconds: {value}
        """)
    with pytest.raises(ConfigError) as caught:
        settings_from_text(text, path=tmp_path / "pmhub.yaml", env={})
    [problem] = caught.value.problems
    assert problem.message.startswith(message)
    assert (problem.line, problem.column) == (3, 19)


def test_a_linger_longer_than_the_poll_is_refused(tmp_path: Path) -> None:
    text = "worker:\n  poll_interval_seconds: 1\n  linger_seconds: 2\n"
    with pytest.raises(ConfigError) as caught:
        settings_from_text(text, path=tmp_path / "pmhub.yaml", env={})
    [problem] = caught.value.problems
    assert problem.message == ("worker.linger_seconds: must not exceed poll_interval_seconds (1)")
    assert problem.line == 3


def test_a_short_poll_without_a_linger_is_still_valid(tmp_path: Path) -> None:
    """A file written before `linger_seconds` existed keeps loading."""
    text = "worker:\n  poll_interval_seconds: 0.05\n"
    settings = settings_from_text(text, path=tmp_path / "pmhub.yaml", env={})
    assert settings.worker.poll_interval_seconds == 0.05
