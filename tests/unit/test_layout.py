"""hub's top level holds the application, its runtime, errors, logging and the rooms.

docs/architecture.md promises a newcomer finds any behaviour in one hop: a module that
lands at the top level instead of its room breaks that quietly, so it is checked here.
"""

from __future__ import annotations

from pathlib import Path

import hub

HUB = Path(hub.__file__).parent
TOP_LEVEL_MODULES = {
    "__init__.py",
    "__main__.py",
    "app.py",
    "runtime.py",
    "errors.py",
    "logging.py",
    "yamlpos.py",
}
ROOMS = {
    "cli", "config", "demo", "engine", "intake", "jobs", "metrics",
    "model", "policy", "ports", "store", "web", "wiring",
}  # fmt: skip


def test_the_top_level_holds_the_app_and_the_rooms_only() -> None:
    modules = {p.name for p in HUB.glob("*.py")}
    packages = {p.name for p in HUB.iterdir() if (p / "__init__.py").is_file()}
    assert modules == TOP_LEVEL_MODULES
    assert packages == ROOMS


def test_every_room_is_named_in_the_architecture_page() -> None:
    page = (HUB.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [room for room in sorted(ROOMS) if f"`hub/{room}/`" not in page]
    assert missing == []
