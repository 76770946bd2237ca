"""The policies pmhub ships, as package data (read with importlib.resources).

In the repository they are edited in `config/policies/`; `hub/policy/policies/` links to
them, so a wheel carries them and an installed pmhub finds them from any working
directory (`pmhub demo`'s default policy, `pmhub policy check --shipped`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PAGERDUTY_PROCESS = "pagerduty-process.yaml"
POSTHOG_PROCESS = "posthog-process.yaml"


def shipped_policy_dir() -> Path:
    """The installed folder of the shipped policies (a real folder: pmhub is not zip-safe)."""
    folder = resources.files("hub.policy") / "policies"
    if not isinstance(folder, Path):  # pragma: no cover - only a zipped install lands here
        raise TypeError(f"pmhub's shipped policies are not files on disk: {folder}")
    return folder


def shipped_policy(name: str) -> Path:
    """One shipped policy file by name, e.g. `shipped_policy(PAGERDUTY_PROCESS)`."""
    return shipped_policy_dir() / name


def shipped_policies() -> list[Path]:
    """Every shipped policy file, by name."""
    return sorted(shipped_policy_dir().glob("*.yaml"))
