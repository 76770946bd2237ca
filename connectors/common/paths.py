"""Files named in `pmhub.yaml`: relative to that file, and there when it loads.

A connector's settings model is the `pmhub.yaml` section's model, validated by the
configuration loader, which passes the file's directory as validation context
(`config_dir`); a model built in code without it resolves against the working
directory. `pmhub check` then reports a missing key file at its line, instead of the
daemon failing on the first effect.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo


def config_file(path: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("config_dir")
    resolved = path if path.is_absolute() else Path(base or Path.cwd()) / path
    try:
        exists, is_file = resolved.exists(), resolved.is_file()
    except OSError as exc:  # e.g. a name too long for the file system
        raise ValueError(f"cannot use {resolved}: {exc.strerror}") from None
    if not exists:
        raise ValueError(f"file not found: {resolved}")
    if not is_file:
        raise ValueError(f"not a file: {resolved}")
    return resolved


ConfigFile = Annotated[Path, AfterValidator(config_file)]


def _trusted_certificates(path: Path) -> Path:
    # Loaded the way the clients load it, so a file that is not a PEM bundle is a
    # problem at its line in `pmhub check`, not a failure when the daemon starts.
    try:
        ssl.create_default_context().load_verify_locations(cafile=str(path))
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        raise ValueError(f"not a PEM bundle of CA certificates: {path} ({reason})") from None
    return path


CaBundle = Annotated[Path, AfterValidator(config_file), AfterValidator(_trusted_certificates)]
