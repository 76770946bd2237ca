"""The error taxonomy every connector maps vendor errors into.

Retry logic in the worker looks only at these classes, never at a vendor's
exception types, so a new connector gets correct retry behaviour by mapping
its errors here.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every error a connector may raise to the job runner."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.__class__.__name__)
        self.message = message or self.__class__.__name__


class Transient(ConnectorError):
    """Network trouble, a 5xx, a timeout: retry with backoff."""

    def __init__(self, message: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(Transient):
    """The vendor said slow down (429/420): retry no sooner than `retry_after` seconds."""

    def __init__(self, message: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, retry_after=retry_after)


class Held(RateLimited):
    """pmhub's own hold, not a vendor's refusal: the job is to come back after exactly
    `retry_after` seconds (it knows when what it waits for is due), without the backoff
    and jitter a vendor's 429 gets on top of its Retry-After. Not a failure either."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after)


class AuthFailed(ConnectorError):
    """Bad or revoked credentials: pause the connector and alert, do not hot-retry."""


class Permanent(ConnectorError):
    """A 4xx that will never succeed: dead-letter with the vendor's reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Conflict(ConnectorError):
    """The effect already exists: record it and move on."""

    def __init__(self, message: str = "", vendor_ref: str | None = None) -> None:
        super().__init__(message)
        self.vendor_ref = vendor_ref
