import os
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import settings

# How hard the property tests look. `dev` (the default) keeps `make test` quick; CI runs
# `ci`, which tries four times as many examples per property. A property that states
# its own `max_examples` (a slow one) keeps it under both.
settings.register_profile("dev", max_examples=25)
settings.register_profile("ci", max_examples=100, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

pytest_plugins = ["tests.support.db", "tests.support.queue"]

# Whole-daemon, process and benchmark tests: `pytest -m "not slow"` leaves them out for a
# quick inner loop (they still run in `make test` and CI).
_SLOW_FOLDERS = ("e2e", "reliability", "bench", "deploy")


# Longest first: a whole-system test that starts last keeps every other worker idle
# while it runs, so the few that take a minute go out first and the many short ones
# fill in around them (`make pytest` hands tests out with `--dist load`, in this order).
_FIRST_FOLDERS = ("bench", "reliability", "deploy", "e2e", "cli")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _folder(item) in _SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)
    items.sort(key=_longest_first)


def _folder(item: pytest.Item) -> str:
    parts = item.path.parts
    return parts[parts.index("tests") + 1] if "tests" in parts[:-1] else ""


def _longest_first(item: pytest.Item) -> int:
    folder = _folder(item)
    return _FIRST_FOLDERS.index(folder) if folder in _FIRST_FOLDERS else len(_FIRST_FOLDERS)


@pytest.fixture(autouse=True)
def _fresh_structlog() -> Iterator[None]:
    """Each test starts from structlog's defaults (tracebacks plain, see below).

    `configure_logging` (run by `pmhub serve`, `pmhub demo` and the tests of both)
    sets the process-wide level filter; left in place it would hide the info lines
    a later test captures with `structlog.testing.capture_logs`.
    """
    _plain_structlog_defaults()
    yield
    structlog.reset_defaults()


def _plain_structlog_defaults() -> None:
    """structlog's defaults, but tracebacks printed plainly instead of by rich.

    The default renders each logged exception with rich and every frame's locals: about
    a second per traceback (far more under load), and the fault tests log many (readyz
    with the database gone spent 13 of its 14 seconds there). The text is the same
    traceback, without the locals; what a test captures (`capture_logs`) is unchanged.
    """
    structlog.reset_defaults()
    *processors, renderer = structlog.get_config()["processors"]
    assert isinstance(renderer, structlog.dev.ConsoleRenderer)
    plain = structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    structlog.configure(processors=[*processors, plain])
