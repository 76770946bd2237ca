"""A throwaway certificate authority for serving fakes over real, verified TLS.

Some vendor clients refuse plain http:// (PagerDuty's does), and turning
verification off would test a path production never takes. Instead each test
session makes its own CA with `trustme`, the fake serves a certificate it issued for
127.0.0.1/localhost, and the client trusts that CA the supported way: its CA
bundle file, or an `ssl.SSLContext` built from it.

Use the `loopback_tls` fixture (import it into a conftest.py) or `make_loopback_tls`.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class LoopbackTls:
    ca_pem: Path
    """The CA certificate (PEM): give it to a client as its extra trusted bundle."""

    server_context: ssl.SSLContext
    """For the fake: `start_fake(app, ssl_context=tls.server_context)`."""

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only the test CA."""
        return ssl.create_default_context(cafile=str(self.ca_pem))


def make_loopback_tls(directory: Path) -> LoopbackTls:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*LOOPBACK_NAMES).configure_cert(server_context)
    ca_pem = directory / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    return LoopbackTls(ca_pem=ca_pem, server_context=server_context)


@pytest.fixture(scope="session")
def loopback_tls(tmp_path_factory: pytest.TempPathFactory) -> LoopbackTls:
    return make_loopback_tls(tmp_path_factory.mktemp("tls"))
