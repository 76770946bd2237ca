"""Google Workspace APIs through `google-api-python-client`, made async, typed and quiet.

Shared by the Calendar and the Docs/Drive connectors: the same delegated service
account (domain-wide delegation, acting as one Workspace user), the same transport and
the same error mapping.

Why the SDK: it is Google's maintained client, and it builds requests from the
discovery documents *bundled with it* (`static_discovery=True`), so no request to
Google's discovery service is made at start-up and the request shapes are the ones
Google publishes. `client_options={"api_endpoint": ...}` points it at a fake.

Threads: the client blocks (httplib2), and httplib2 is not thread-safe, so calls run
on a small thread pool per API, each thread with its own `Http` (wrapped in an
`AuthorizedHttp` when there are credentials), passed per call to `execute(http=...)`
as Google's thread-safety guide says. Every `Http` is remembered so `close()` can
close its sockets once the pool has stopped.

Retries belong to pmhub's job runner (durable, backoff with jitter, Retry-After), so
`execute(num_retries=0)`. One retry stays out of our hands: httplib2 re-sends a
request once when the connection drops before the answer's status line (it assumes
a stale keep-alive connection); each connector makes its writes safe to repeat.

Error mapping (`error_for_status`): 401 -> AuthFailed; 403 rateLimitExceeded/
userRateLimitExceeded/quotaExceeded/dailyLimitExceeded and 429 -> RateLimited
(Retry-After when sent); 403 forbidden/requiredAccessLevel/insufficientPermissions/
accessNotConfigured/forbiddenForServiceAccounts/insufficientFilePermissions -> AuthFailed
(pmhub's identity cannot do its job: every job would fail alike, so pause and alert);
other 403 -> Permanent; 404, 410 -> NotFound (Permanent); 409 -> Conflict; 408, 412,
5xx, timeouts, connection errors -> Transient; other 4xx -> Permanent.

This module imports `hub.errors` (every connector's vocabulary) and nothing else of pmhub.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urljoin

import google_auth_httplib2
import httplib2
from google.auth.exceptions import GoogleAuthError, RefreshError, TransportError
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from pydantic import AfterValidator

from connectors.common.paths import config_file
from connectors.common.retry_after import parse_retry_after
from hub.errors import AuthFailed, Conflict, ConnectorError, Permanent, RateLimited, Transient

JsonDict = dict[str, Any]
# A googleapiclient `HttpRequest`, built from the service inside the worker thread.
RequestFactory = Callable[[Any], Any]


class _SharedCollections:
    """The service, with each top-level collection (`documents()`, `files()`, `events()`)
    built once and shared.

    googleapiclient builds a collection's `Resource` anew on every `service.documents()`,
    and with it every method's docstring, printed from the API's schema: for Google Docs
    about 18 MB and tens of milliseconds of CPU per call, which made the document effects
    the peak of a storm's memory (issue 16). A built `Resource` only makes requests (its
    state is read-only; the `Http` is passed to `execute`), so the worker threads can share it.
    """

    def __init__(self, service: Any) -> None:
        self._service = service
        self._collections = frozenset(getattr(service, "_resourceDesc", {}).get("resources", {}))
        self._built: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._service, name)
        if name not in self._collections:
            return attribute

        def collection() -> Any:
            with self._lock:
                if name not in self._built:
                    self._built[name] = attribute()
                return self._built[name]

        return collection


MESSAGE_LIMIT = 500
RATE_LIMIT_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}
)
# 408: the request timed out at Google. 412: an If-Match lost a race with a human's
# edit; the retried job re-reads first.
RETRYABLE_STATUSES = frozenset({HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.PRECONDITION_FAILED})
# 403s that mean pmhub's identity cannot do its job at all (not this one request).
ACCESS_REASONS = frozenset(
    {
        "forbidden",
        "requiredAccessLevel",
        "insufficientPermissions",
        "insufficientFilePermissions",
        "accessNotConfigured",
        "forbiddenForServiceAccounts",
    }
)
_PHRASES = {int(status): status.phrase for status in HTTPStatus}


class NotFound(Permanent):
    """404, or 410 `deleted`: no such calendar, event, file or document."""


def google_error(status: int, content: bytes) -> tuple[str, tuple[str, ...]]:
    """Google's `{"error": {"code", "message", "errors": [{"reason", ...}]}}` -> (text, reasons)."""
    try:
        body = json.loads(content.decode("utf-8", "replace"))
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    fallback = _PHRASES.get(status, "no reason given")
    if not isinstance(error, dict):
        return fallback, ()
    items = [item for item in error.get("errors") or () if isinstance(item, dict)]
    reasons = tuple(str(item["reason"]) for item in items if item.get("reason"))
    text = str(error.get("message") or fallback)
    if reasons:
        text += f" ({', '.join(reasons)})"
    return text[:MESSAGE_LIMIT], reasons


def error_for_status(  # noqa: PLR0911 - one return per row of the mapping reads best
    product: str, status: int, content: bytes, headers: Mapping[str, str], what: str
) -> ConnectorError:
    """Map one failed Google answer to pmhub's taxonomy (see the module docstring)."""
    text, reasons = google_error(status, content)
    message = f"{product} {what}: HTTP {status}: {text}"
    retry_after = parse_retry_after(headers.get("retry-after"))
    if status == HTTPStatus.UNAUTHORIZED:
        return AuthFailed(message)
    forbidden = status == HTTPStatus.FORBIDDEN
    if status == HTTPStatus.TOO_MANY_REQUESTS or (
        forbidden and RATE_LIMIT_REASONS.intersection(reasons)
    ):
        return RateLimited(message, retry_after=retry_after)
    if forbidden and ACCESS_REASONS.intersection(reasons):
        return AuthFailed(message)
    if status == HTTPStatus.CONFLICT:
        return Conflict(message)
    if status in RETRYABLE_STATUSES or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return Transient(message, retry_after=retry_after)
    if status < HTTPStatus.BAD_REQUEST:
        # A 2xx the client could not decode, or a redirect it did not follow.
        return Transient(message)
    if status in (HTTPStatus.NOT_FOUND, HTTPStatus.GONE):
        return NotFound(message)
    return Permanent(message)


def _service_account_key(path: Path) -> Path:
    # Read the way `delegated_credentials` reads it, so `pmhub check` finds what the
    # daemon would refuse at start-up; the message names fields, never key material.
    try:
        service_account.Credentials.from_service_account_file(str(path))  # type: ignore[no-untyped-call]
    except (OSError, ValueError, GoogleAuthError) as exc:
        raise ValueError(f"not a usable service-account key (JSON): {path}: {exc}") from None
    return path


ServiceAccountKey = Annotated[
    Path, AfterValidator(config_file), AfterValidator(_service_account_key)
]


def delegated_credentials(
    credentials_file: Path | None, scopes: Sequence[str], subject: str | None, product: str
) -> Any:
    """A service account acting as `subject` (domain-wide delegation); None for a fake."""
    if credentials_file is None:
        return None
    try:
        return service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(credentials_file), scopes=list(scopes), subject=subject
        )
    except (OSError, ValueError, GoogleAuthError) as exc:
        raise AuthFailed(f"{product}: cannot use {credentials_file}: {exc}") from None


class _NoSharedHttp:
    """Stands where the service keeps a default `Http`: every call must bring its own.

    It carries the credentials because the client checks their universe domain
    against the service's, which is all the service uses its default `Http` for.
    """

    def __init__(self, credentials: object | None) -> None:
        self.credentials = credentials

    def request(self, *_: object, **__: object) -> None:
        raise RuntimeError("Google API calls must pass their thread's own Http")


class GoogleApi:
    """One Google API (name, version) on a thread pool; answers are Google's JSON."""

    def __init__(
        self,
        api: str,
        version: str,
        *,
        product: str,
        root_url: str,
        service_path: str,
        credentials: Any,
        timeout: float,
        max_concurrency: int,
        ca_certs: Path | None = None,
    ) -> None:
        self.product = product
        self._timeout = timeout
        self._ca_certs = str(ca_certs) if ca_certs else None
        self._credentials = credentials
        self.service = _SharedCollections(
            build(
                api,
                version,
                http=_NoSharedHttp(credentials),
                static_discovery=True,
                cache_discovery=False,
                client_options={"api_endpoint": urljoin(root_url, service_path)},
            )
        )
        self._pool = ThreadPoolExecutor(max_concurrency, thread_name_prefix=f"g{api}")
        self._local = threading.local()
        self._https: list[Any] = []
        self._lock = threading.Lock()

    async def close(self) -> None:
        # Wait for calls in flight (bounded by the socket timeout): an Http must not
        # be closed under a thread still using it.
        await asyncio.to_thread(self._pool.shutdown, wait=True)
        with self._lock:
            https, self._https = self._https, []
        for each in https:
            each.close()

    async def call(self, what: str, make: RequestFactory) -> Any:
        """Run `make(service).execute()` on the pool; the answer (a dict, or bytes for
        media downloads). Every failure leaves as a `hub.errors` type."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._execute, what, make)

    def _http(self) -> Any:
        own = getattr(self._local, "http", None)
        if own is None:
            own = httplib2.Http(timeout=self._timeout, ca_certs=self._ca_certs)
            # As googleapiclient's own build_http: 308 is "resume incomplete" to Google.
            own.redirect_codes = own.redirect_codes - {308}
            if self._credentials is not None:
                own = google_auth_httplib2.AuthorizedHttp(self._credentials, http=own)
            self._local.http = own
            with self._lock:
                self._https.append(own)
        return own

    def _execute(self, what: str, make: RequestFactory) -> Any:
        product = self.product
        try:
            result = make(self.service).execute(http=self._http(), num_retries=0)
        except HttpError as exc:
            raise error_for_status(product, exc.resp.status, exc.content, exc.resp, what) from None
        except RefreshError as exc:
            # Token exchange refused (revoked key, delegation not granted) unless
            # google-auth says the token endpoint merely failed this time.
            if exc.retryable:
                raise Transient(f"{product} {what}: token refresh: {exc}") from None
            raise AuthFailed(f"{product} {what}: token refresh: {exc}") from None
        except (OSError, http.client.HTTPException, httplib2.HttpLib2Error, TransportError) as exc:
            # No answer: refused, reset, dropped, timed out, TLS failure, name lookup.
            raise Transient(f"{product} {what}: {type(exc).__name__}: {exc}") from None
        if not isinstance(result, dict | bytes):
            raise Transient(f"{product} {what}: unexpected answer {type(result).__name__}")
        return result
