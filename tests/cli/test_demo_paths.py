"""`pmhub demo` with its defaults, run from a folder that is not the repository.

Issue 10 §1: `make run` failed on a fresh clone because the demo wrote its relative data
folder into the generated configuration, which the loader resolves against the
configuration's own folder (`var/demo/var/demo/sandbox-ca.pem`). Everything pmhub writes
into a generated configuration is absolute; the default policy is the shipped one
(package data), so no file of the repository is needed either.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from hub.cli import main


def _paths_in(config: dict[str, Any]) -> list[str]:
    """Every file the generated configuration names: CA bundles, policies, the store."""
    found = [str(path) for path in config["policies"]]
    for section in ("sources", "connectors"):
        found += [str(c["ca_bundle"]) for c in config[section].values() if "ca_bundle" in c]
    found.append(config["store"]["url"].removeprefix("sqlite+aiosqlite:///"))
    return found


@pytest.mark.slow
def test_demo_once_with_its_defaults_from_an_empty_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["demo", "--once", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert "every expected effect happened, once" in result.output
    config_path = tmp_path / "var" / "demo" / "pmhub.yaml"
    config = yaml.safe_load(config_path.read_text())
    paths = _paths_in(config)
    assert len(paths) == 6  # two policies, three CA bundles, the store
    assert all(Path(path).is_absolute() for path in paths), paths
    assert all(Path(path).is_file() for path in paths), paths
    # The configuration it wrote is valid wherever it is read from.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    check = CliRunner().invoke(main, ["check", "--config", str(config_path)])
    assert check.exit_code == 0, check.output
    assert f"{config_path}: OK (2 policy file(s)" in check.output


def test_a_taken_port_says_how_to_pick_another(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            main, ["demo", "--once", "--port", str(port), "--data-dir", str(tmp_path)]
        )
    assert result.exit_code == 1, result.output
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "try --port 0, or `make run PORT=0` (any free port)" in result.output
