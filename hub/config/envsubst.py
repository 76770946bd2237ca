"""`${NAME}` and `${NAME:-default}` in configuration strings.

The syntax is the shell's (and docker compose's) so it reads as people expect:
`${NAME:-default}` uses the default when NAME is unset *or empty*, and `$${`
writes a literal `${`. A lone `$` is left alone, because secrets and
passwords legitimately contain dollar signs. Messages name the variable, never
its value or the default, since either may be a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from hub.yamlpos import ScalarError

_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")
_SYNTAX = "expected ${NAME} or ${NAME:-default}; write $${ for a literal ${"


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Substitute every reference in `text`; raise `ScalarError` naming what failed."""
    if "$" not in text:
        return text
    parts: list[str] = []
    errors: list[str] = []
    pos = 0
    while (start := text.find("$", pos)) != -1:
        parts.append(text[pos:start])
        if text.startswith("$${", start):
            parts.append("${")
            pos = start + 3
        elif text.startswith("${", start):
            pos = _substitute(text, start, env, parts, errors)
        else:
            parts.append("$")
            pos = start + 1
    parts.append(text[pos:])
    if errors:
        raise ScalarError(errors)
    return "".join(parts)


def _substitute(
    text: str, start: int, env: Mapping[str, str], parts: list[str], errors: list[str]
) -> int:
    """Resolve the reference at `start`; return where scanning continues."""
    match = _REFERENCE.match(text, start)
    if match is None:
        errors.append(f"malformed variable reference ({_SYNTAX})")
        return len(text)  # the rest cannot be split reliably; one report is enough
    name, default = match["name"], match["default"]
    value = env.get(name)
    if default is not None and not value:
        parts.append(default)
    elif value is None:
        errors.append(f"environment variable {name} is not set (and no ${{{name}:-default}} given)")
    else:
        parts.append(value)
    return match.end()
