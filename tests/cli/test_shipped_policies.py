"""The shipped policies are package data: found from any folder, checked by name or all."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.policy.shipped import PAGERDUTY_PROCESS, shipped_policies, shipped_policy

REPOSITORY_POLICIES = Path(__file__).parents[2] / "config" / "policies"


def test_the_package_ships_the_policies_of_config_policies() -> None:
    assert [path.name for path in shipped_policies()] == sorted(
        path.name for path in REPOSITORY_POLICIES.glob("*.yaml")
    )
    for path in shipped_policies():
        assert path.read_text() == (REPOSITORY_POLICIES / path.name).read_text()
    assert shipped_policy(PAGERDUTY_PROCESS).is_file()


def test_policy_check_shipped_from_an_empty_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["policy", "check", "--shipped"])
    assert result.exit_code == 0, result.output
    checked = [line for line in result.output.splitlines() if line.endswith(": OK")]
    assert [Path(line.removesuffix(": OK")).name for line in checked] == [
        "pagerduty-process.yaml",
        "posthog-process.yaml",
    ]


def test_policy_check_without_files_says_what_it_needs() -> None:
    result = CliRunner().invoke(main, ["policy", "check"])
    assert result.exit_code == 2
    assert "name the policy files to check, or pass --shipped" in result.output
