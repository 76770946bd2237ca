"""GitHub REST transport: githubkit (maintained, typed, async), with a token or an App.

Three of githubkit's defaults are switched off, because they fight pmhub's guarantees:

* `auto_retry=False`: retrying (and waiting out rate limits) belongs to pmhub's durable
  job runner, which honours Retry-After across restarts;
* `http_cache=False`: the review guard must read the file as it is now, not a copy
  cached for GitHub's `max-age=60`;
* answers are read as JSON (`response.json()`), not githubkit's models: pmhub needs a
  few fields, and a new field GitHub adds must never fail a job.

githubkit opens an HTTP client per call outside `async with`; that is what we want
here: a handful of calls per post-mortem, hours apart, on no shared state.

Error mapping: 401 and an unusable App key -> AuthFailed; 403 or 429 with rate-limit
headers -> RateLimited (Retry-After, or the reset time); other 403 ("Resource not
accessible by integration": the token or App lacks a permission) -> AuthFailed; 404 ->
NotFound (Permanent; lookups answer None); 409 -> Conflict; 422 and other 4xx ->
Permanent with GitHub's message and errors; 5xx, timeouts, no answer -> Transient.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import jwt
from cryptography.hazmat.primitives import serialization
from githubkit import AppInstallationAuthStrategy, GitHub, TokenAuthStrategy
from githubkit.cache import MemCacheStrategy
from githubkit.exception import (
    AuthCredentialError,
    AuthExpiredError,
    RateLimitExceeded,
    RequestError,
    RequestFailed,
)
from githubkit.utils import UNSET

from connectors.github.config import GitHubConfig
from hub.errors import AuthFailed, Conflict, ConnectorError, Permanent, RateLimited, Transient

T = TypeVar("T")
JsonDict = dict[str, Any]
MESSAGE_LIMIT = 500
USER_AGENT = "pmhub (post-mortem documents)"


class NotFound(Permanent):
    """404: no such branch, file, repository (or no access to a private one)."""


def _github_message(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return str(getattr(response, "status_code", "?"))
    text = str(body.get("message") or "")
    details = [
        str(error.get("message") or error.get("code") or error)
        for error in body.get("errors") or ()
        if isinstance(error, dict)
    ]
    if details:
        text += ": " + "; ".join(details)
    return text[:MESSAGE_LIMIT]


def error_for(exc: RequestFailed, what: str) -> ConnectorError:  # noqa: PLR0911
    response = exc.response
    status = response.status_code
    message = f"GitHub {what}: HTTP {status}: {_github_message(response)}"
    if isinstance(exc, RateLimitExceeded):
        return RateLimited(message, retry_after=exc.retry_after.total_seconds())
    if status == 401:  # noqa: PLR2004
        return AuthFailed(message)
    if status == 403:  # noqa: PLR2004
        return AuthFailed(message)
    if status == 404:  # noqa: PLR2004
        return NotFound(message)
    if status == 409:  # noqa: PLR2004
        return Conflict(message)
    if status >= 500 or status == 408:  # noqa: PLR2004
        return Transient(message)
    return Permanent(message)


def _auth(config: GitHubConfig) -> TokenAuthStrategy | AppInstallationAuthStrategy:
    if config.token is not None:
        return TokenAuthStrategy(config.token.get_secret_value())
    if config.private_key_file is None or config.app_id is None or config.installation_id is None:
        raise AuthFailed("GitHub: neither a token nor a complete GitHub App is configured")
    try:
        key = config.private_key_file.read_text(encoding="ascii")
        # Checked now: githubkit would only find out when signing the first request.
        serialization.load_pem_private_key(key.encode("ascii"), password=None)
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise AuthFailed(f"GitHub App key {config.private_key_file}: {exc}") from None
    return AppInstallationAuthStrategy(config.app_id, key, config.installation_id)


class GitHubClient:
    """Typed async calls to the REST endpoints pmhub uses, on one repository."""

    def __init__(self, config: GitHubConfig) -> None:
        self._owner, self._repo = config.owner, config.name
        self._github: GitHub[Any] = GitHub(
            _auth(config),
            base_url=config.base_url + "/",
            user_agent=USER_AGENT,
            timeout=config.timeout_seconds,
            http_cache=False,
            auto_retry=False,
            # The App's installation token is cached here, per connector: githubkit's
            # default cache is process-wide and would hand one GitHub's token to another.
            cache_strategy=MemCacheStrategy(),
        )

    async def branch_head(self, branch: str) -> str | None:
        """The commit sha a branch points at; None if there is no such branch."""
        ref = await self._or_none(
            "get ref",
            lambda: self._github.rest.git.async_get_ref(self._owner, self._repo, f"heads/{branch}"),
        )
        return None if ref is None else str(ref["object"]["sha"])

    async def create_branch(self, branch: str, sha: str) -> None:
        await self._call(
            "create ref",
            lambda: self._github.rest.git.async_create_ref(
                self._owner, self._repo, ref=f"refs/heads/{branch}", sha=sha
            ),
        )

    async def get_file(self, path: str, ref: str) -> tuple[str, bytes] | None:
        """(blob sha, content) of a file at a branch; None if it is not there."""
        found = await self._or_none(
            "get contents",
            lambda: self._github.rest.repos.async_get_content(
                self._owner, self._repo, path, ref=ref
            ),
        )
        if found is None:
            return None
        if not isinstance(found, dict) or found.get("type") != "file":
            raise Permanent(f"GitHub: {path} at {ref} is not a file")
        return str(found["sha"]), base64.b64decode(str(found.get("content") or ""))

    async def put_file(
        self, path: str, *, branch: str, content: bytes, message: str, sha: str | None = None
    ) -> str:
        """Create (sha None) or replace the file on a branch; the new blob sha."""
        encoded = base64.b64encode(content).decode("ascii")
        answer = await self._call(
            "put contents",
            lambda: self._github.rest.repos.async_create_or_update_file_contents(
                self._owner,
                self._repo,
                path,
                message=message,
                content=encoded,
                branch=branch,
                sha=UNSET if sha is None else sha,
            ),
        )
        return str(answer["content"]["sha"])

    async def find_pull(self, branch: str) -> JsonDict | None:
        """The pull request from `branch` (open or not), newest first; None if none."""
        pulls = await self._call(
            "list pulls",
            lambda: self._github.rest.pulls.async_list(
                self._owner, self._repo, head=f"{self._owner}:{branch}", state="all"
            ),
        )
        return pulls[0] if isinstance(pulls, list) and pulls else None

    async def create_pull(
        self, *, title: str, branch: str, base: str, body: str, draft: bool
    ) -> JsonDict:
        answer = await self._call(
            "create pull",
            lambda: self._github.rest.pulls.async_create(
                self._owner, self._repo, title=title, head=branch, base=base, body=body, draft=draft
            ),
        )
        return dict(answer)

    async def commits_touching(self, path: str, ref: str) -> list[JsonDict]:
        """The newest commits (up to 100) on `ref` that changed `path`, newest first."""
        answer = await self._call(
            "list commits",
            lambda: self._github.rest.repos.async_list_commits(
                self._owner, self._repo, sha=ref, path=path, per_page=100
            ),
        )
        return [c for c in answer if isinstance(c, dict)] if isinstance(answer, list) else []

    async def _or_none(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await self._call(what, call)
        except NotFound:
            return None

    async def _call(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            response = await call()
        except RequestFailed as exc:
            raise error_for(exc, what) from None
        except (AuthCredentialError, AuthExpiredError) as exc:
            raise AuthFailed(f"GitHub {what}: {type(exc).__name__}: {exc}") from None
        except RequestError as exc:
            cause = exc.exc
            if isinstance(cause, jwt.PyJWTError):  # the App's JWT could not be signed
                raise AuthFailed(f"GitHub {what}: App JWT: {cause}") from None
            # No answer: refused, reset, dropped after sending, timed out.
            raise Transient(f"GitHub {what}: {type(cause).__name__}: {cause}") from None
        try:
            return response.json()
        except ValueError:
            raise Transient(f"GitHub {what}: the answer is not JSON") from None
