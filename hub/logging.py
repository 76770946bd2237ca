"""Structured logging: JSON in production, console on a terminal, secrets never written.

Both structlog loggers and the standard library's (aiohttp, SQLAlchemy, alembic) go
through the same processor chain, so the redaction applies to every line the process
writes, not only to the ones pmhub's own code emits.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, Literal

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"
# Keys whose values are credentials whatever they contain.
_SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-pagerduty-signature",
        "webhook-signature",
        "x-slack-signature",
        "x-hub-signature",
        "token",
        "api_token",
        "api_key",
        "bot_token",
        "password",
        "secret",
        "signing_secret",
        "webhook_secret",
        "webhook_secrets",
    }
)
_MIN_SECRET_LENGTH = 4  # shorter "secrets" would redact ordinary words
_PLAIN = frozenset({int, float, bool, type(None)})


@functools.lru_cache(maxsize=4096)
def _is_sensitive(key: str) -> bool:
    """Whether a field or header name is a credential's (field names repeat: cached)."""
    return key.lower() in _SENSITIVE_KEYS


class SecretRedactor:
    """A structlog processor that scrubs known secret values and credential fields."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: tuple[str, ...] = ()
        self.set_secrets(secrets)

    def set_secrets(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        unique = {s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}
        self._secrets = tuple(sorted(unique, key=len, reverse=True))

    def __call__(self, logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        return {key: self._scrub(key, value) for key, value in event_dict.items()}

    def scrub_text(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def _scrub(self, key: object, value: Any) -> Any:
        if isinstance(key, str) and _is_sensitive(key) and value:
            return REDACTED
        kind = type(value)  # the common cases first: this runs for every field of every line
        if kind is str:
            return self.scrub_text(value)
        return value if kind in _PLAIN else self._scrub_other(value)

    def _scrub_other(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, Mapping):
            return {k: self._scrub(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._scrub(None, v) for v in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        return self.scrub_text(text)


def _render_exception_safely(
    logger: WrappedLogger, method: str, event_dict: EventDict
) -> EventDict:
    """Exceptions are rendered to text here so the redactor sees (and scrubs) them."""
    return structlog.processors.format_exc_info(logger, method, event_dict)


class _LineWriter:
    """structlog's output for pmhub's own events: one rendered line to the shared stream.

    pmhub's events skip the standard library's logging machinery (a LogRecord, a
    handler and a formatter per line cost several times the rendering itself: this
    is the one summary line of every webhook). They share the stream, and its lock,
    with the stdlib handler that renders third-party records, so lines never interleave.
    """

    def __init__(self, handler: logging.StreamHandler[Any], name: str) -> None:
        self._handler, self.name = handler, name  # `name` is read by add_logger_name

    def msg(self, message: str) -> None:
        handler = self._handler
        with handler.lock or contextlib.nullcontext():
            handler.stream.write(message + "\n")
            handler.flush()

    debug = info = warning = warn = error = critical = exception = fatal = failure = msg


class _LineWriterFactory:
    def __init__(self, handler: logging.StreamHandler[Any]) -> None:
        self._handler = handler
        self._made: dict[str, _LineWriter] = {}

    def __call__(self, *args: Any) -> _LineWriter:
        name = str(args[0]) if args else ""
        writer = self._made.get(name)
        if writer is None:
            writer = self._made[name] = _LineWriter(self._handler, name)
        return writer


def configure_logging(
    *,
    level: str = "info",
    fmt: Literal["auto", "json", "console"] = "auto",
    secrets: Iterable[str] = (),
    stream: Any = None,
) -> SecretRedactor:
    """Set up structlog and the stdlib root logger for the whole process.

    Both paths run the same processors (context, level, logger name, time stamp,
    exception text, redaction, renderer) and write to the same stream. Events below
    `level` cost one no-op call: the level filter is compiled into the logger class.
    Returns the redactor it installed, for text that leaves by another way (the
    one-line start-up error).
    """
    redactor = SecretRedactor()
    redactor.set_secrets(secrets)
    out = stream if stream is not None else sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not _is_tty(out))
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        # Plain tracebacks: structlog's default (rich, when installed) prints each frame's
        # local variables after the redactor has run, which could show a secret, and
        # formatting them is slow.
        else structlog.dev.ConsoleRenderer(
            colors=_is_tty(out), exception_formatter=structlog.dev.plain_traceback
        )
    )
    handler = logging.StreamHandler(out)
    structlog.configure(
        processors=[*shared, _render_exception_safely, redactor, renderer],
        logger_factory=_LineWriterFactory(handler),
        wrapper_class=structlog.make_filtering_bound_logger(_level_number(level)),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _render_exception_safely,
            redactor,
            renderer,
        ],
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # aiohttp's access log duplicates our one summary line per request, and alembic
    # would narrate every /readyz migration check.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return redactor


_LEVEL_NUMBERS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def _level_number(level: str) -> int:
    number = _LEVEL_NUMBERS.get(level.lower())
    if number is None:
        raise ValueError(f"unknown log level {level!r} (allowed: {', '.join(_LEVEL_NUMBERS)})")
    return number


def _is_tty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def redact_headers(headers: Mapping[str, str]) -> MutableMapping[str, str]:
    """A copy of headers safe to store or log: credentials replaced."""
    return {name: (REDACTED if _is_sensitive(name) else value) for name, value in headers.items()}
