"""A GitHub fake on loopback, and document connectors pointed at it (token or App)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.common.fakeserver import start_fake
from connectors.github import GitHubConfig, GitHubDocuments
from connectors.github.fake import FakeGitHub
from hub.ports import DocumentRequest
from tests.support.contract import OpenApiContract

SPEC = Path(__file__).parents[2] / "fixtures/specs/github_rest_openapi.trimmed.json"
KEY = "pm:incidentio:01FDAG4SAP5TYPT98WGR2N7W91:document"
CONTENT = """# Post-mortem: INC-45 Search results delayed

## Summary

Search results were up to 20 minutes late for 2 hours.

## DERP

## Timeline

- 09:02 Alert fired (PagerDuty)
- 09:05 Alice joined #inc-45
"""


def request(key: str = KEY, **overrides: object) -> DocumentRequest:
    fields: dict[str, object] = {
        "key": key,
        "title": "INC-45 Search results delayed",
        "content": CONTENT,
        "slug": "2026-11-24-inc-45-search-results-delayed",
        "draft": "Candidate follow-ups:\n\n- [ ] Alert on indexing lag",
        "summary": "Search results delayed, 2 hours.",
        **overrides,
    }
    return DocumentRequest(**fields)  # type: ignore[arg-type]


@pytest.fixture
def fake() -> FakeGitHub:
    return FakeGitHub()


@pytest.fixture
async def base_url(fake: FakeGitHub) -> AsyncIterator[str]:
    runner, url = await start_fake(fake.make_app())
    yield url
    await runner.cleanup()


DocumentsFactory = Callable[..., GitHubDocuments]


@pytest.fixture
def make_documents(base_url: str, fake: FakeGitHub) -> DocumentsFactory:
    def make(**overrides: object) -> GitHubDocuments:
        settings: dict[str, object] = {
            "repository": f"{fake.owner}/{fake.repo}",
            "path": "analyses",
            "token": fake.token,
            "base_url": base_url,
            "timeout_seconds": 2,
            **overrides,
        }
        return GitHubDocuments.from_config(GitHubConfig.model_validate(settings))

    return make


@pytest.fixture
def documents(make_documents: DocumentsFactory) -> GitHubDocuments:
    return make_documents()


@pytest.fixture
def app_key(tmp_path: Path, fake: FakeGitHub) -> Path:
    """A GitHub App whose public key the fake knows; the private key's file."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fake.app_id = 123456
    fake.app_public_key = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    path = tmp_path / "app.pem"
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture(scope="session")
def contract() -> OpenApiContract:
    # oneOf -> anyOf: the contents PUT's 409 is `oneOf: [basic-error,
    # repository-rule-violation-error]`, and neither requires a field the other lacks,
    # so every real 409 body matches both (and fails a strict oneOf).
    return OpenApiContract.load(SPEC, one_of_as_any_of=True, slashed=("path", "ref"))
