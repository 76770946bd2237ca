from collections.abc import Iterator

import pytest
import structlog

pytest_plugins = ["tests.support.db", "tests.support.queue"]


@pytest.fixture(autouse=True)
def _fresh_structlog() -> Iterator[None]:
    """Each test starts from structlog's defaults.

    `configure_logging` (run by `pmhub serve`, `pmhub demo` and the tests of both)
    sets the process-wide level filter; left in place it would hide the info lines
    a later test captures with `structlog.testing.capture_logs`.
    """
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
