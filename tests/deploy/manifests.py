"""The deployment kit as data: the kustomize render, the env files, the config's variables."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
PRODUCTION_OVERLAY = KUBERNETES / "overlays" / "production"
BASE = KUBERNETES / "base"
PRODUCTION_CONFIG = DEPLOY / "pmhub.production.yaml"
SECRET_TEMPLATE = KUBERNETES / "secret.template.yaml"
ENV_EXAMPLE = DEPLOY / "pmhub.env.example"
SITE_ENV = PRODUCTION_OVERLAY / "site.env"
KUBECTL = Path(sys.executable).parent / "kubectl"

Manifest = dict[str, Any]
_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<default>:-[^}]*)?\}")


@cache
def _render(folder: Path) -> str:
    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(folder)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def render(folder: Path = PRODUCTION_OVERLAY) -> list[Manifest]:
    """`kubectl kustomize FOLDER`, parsed: one dict per object (a fresh copy each call)."""
    return [doc for doc in yaml.safe_load_all(_render(folder)) if doc]


def only(manifests: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    [found] = [
        m
        for m in manifests
        if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)
    ]
    return found


def generated(manifests: list[Manifest], kind: str, base_name: str) -> Manifest:
    """A kustomize-generated object, found by its name before the content hash."""
    [found] = [
        m
        for m in manifests
        if m["kind"] == kind and re.fullmatch(rf"{base_name}-[a-z0-9]{{10}}", m["metadata"]["name"])
    ]
    return found


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines, as docker compose and `kubectl create secret --from-env-file` read them."""
    pairs: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value
    return pairs


def config_variables(path: Path = PRODUCTION_CONFIG) -> tuple[set[str], set[str]]:
    """The variables a configuration file reads: (required, with a default). Comments aside."""
    required: set[str] = set()
    optional: set[str] = set()
    for line in path.read_text().splitlines():
        for match in _REFERENCE.finditer(
            line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
        ):
            (optional if match["default"] else required).add(match["name"])
    return required, optional - required
