"""pmhub from its wheel, as a user installs it: outside the repository (issue 10 §1).

The wheel is built from a fresh clone (the committed state), installed with the `demo`
extra in a new virtual environment in a temporary folder, and the commands run from an
empty folder, so nothing of the repository can be found by accident: the shipped
policies, the migrations, the document templates are package data or nothing works.
Runs when PMHUB_TEST_WHEEL=1 (`.ci/run` sets it, in its own step): it takes minutes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from tests.firstrun.support import REPOSITORY, clean_env, fresh_clone, wanted

pytestmark = [wanted("PMHUB_TEST_WHEEL"), pytest.mark.slow, pytest.mark.timeout(1200)]
VERSION = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]["version"]
PACKAGE_DATA = (
    "hub/policy/policies/pagerduty-process.yaml",
    "hub/policy/policies/posthog-process.yaml",
    "hub/store/migrations/env.py",
    "hub/policy/document_templates/",
    "hub/py.typed",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    clone = fresh_clone(work / "pmhub")
    dist = work / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), "."],
        cwd=clone,
        env=clean_env(),
        check=True,
        timeout=600,
    )
    (built,) = dist.glob("pmhub-*.whl")
    return built


@pytest.fixture(scope="module")
def pmhub(wheel: Path) -> Path:
    """The `pmhub` script of a new virtual environment with the wheel and its demo extra."""
    environment = wheel.parent.parent / "venv"
    venv.create(environment, with_pip=True)
    subprocess.run(
        [environment / "bin" / "python", "-m", "pip", "install", "--quiet", f"{wheel}[demo]"],
        env=clean_env(),
        check=True,
        timeout=900,
    )
    return environment / "bin" / "pmhub"


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def _run(pmhub: Path, *arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(pmhub), *arguments],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_wheel_carries_the_package_data_license_and_metadata(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"pmhub-{VERSION}.dist-info/METADATA").decode()
    for wanted_file in PACKAGE_DATA:
        assert any(name.startswith(wanted_file) for name in names), wanted_file
    assert f"pmhub-{VERSION}.dist-info/licenses/LICENSE" in names
    assert "License-Expression: Apache-2.0" in metadata
    assert "Project-URL: Changelog, " in metadata
    assert not any(name.startswith(("tests/", "config/")) for name in names)


def test_version(pmhub: Path, empty: Path) -> None:
    result = _run(pmhub, "--version", cwd=empty)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"pmhub, version {VERSION}"


def test_demo_once_then_check_its_configuration(pmhub: Path, empty: Path) -> None:
    demo = _run(pmhub, "demo", "--once", "--port", "0", cwd=empty)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "every expected effect happened, once" in demo.stdout
    check = _run(pmhub, "check", "--config", "var/demo/pmhub.yaml", cwd=empty)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "var/demo/pmhub.yaml: OK (2 policy file(s)" in check.stdout


def test_schema(pmhub: Path, empty: Path) -> None:
    config = _run(pmhub, "schema", cwd=empty)
    policy = _run(pmhub, "schema", "policy", cwd=empty)
    assert config.returncode == policy.returncode == 0, config.stderr + policy.stderr
    assert "server" in json.loads(config.stdout)["properties"]
    assert "rules" in json.loads(policy.stdout)["properties"]


def test_policy_check_on_the_shipped_policies(pmhub: Path, empty: Path) -> None:
    result = _run(pmhub, "policy", "check", "--shipped", cwd=empty)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": OK") == 2
    assert "/site-packages/hub/policy/policies/pagerduty-process.yaml: OK" in result.stdout
