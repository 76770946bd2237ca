"""Cut Google's Calendar v3 discovery document down to the methods pmhub calls.

The contract tests read `tests/fixtures/specs/google_calendar.v3.trimmed.json`, made by
this script from the discovery document bundled with google-api-python-client (see
SOURCES.md). It keeps, verbatim: the document's top-level fields (rootUrl,
servicePath, the global `parameters`, `auth`, ...), each listed method, and every
schema those reference by `$ref`, transitively. Nothing is rewritten.

Refresh, from the repository root::

    python -m tests.connectors.google_calendar.trim_discovery \\
        .venv/lib/python3.*/site-packages/googleapiclient/discovery_cache/documents/calendar.v3.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parents[2] / "fixtures/specs/google_calendar.v3.trimmed.json"
METHODS = {"freebusy": ("query",), "events": ("insert", "get", "patch")}
DROPPED_TOP_LEVEL = ("resources", "schemas", "icons")


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for child in node.values():
            yield from _refs(child)
    elif isinstance(node, list):
        for child in node:
            yield from _refs(child)


def trim(document: dict[str, Any]) -> dict[str, Any]:
    trimmed = {k: v for k, v in document.items() if k not in DROPPED_TOP_LEVEL}
    resources: dict[str, Any] = {}
    for resource, methods in METHODS.items():
        source = document["resources"][resource]["methods"]
        resources[resource] = {"methods": {name: source[name] for name in methods}}
    trimmed["resources"] = resources
    schemas: dict[str, Any] = {}
    pending = list(_refs(resources))
    while pending:
        name = pending.pop()
        if name not in schemas:
            schemas[name] = document["schemas"][name]
            pending.extend(_refs(schemas[name]))
    trimmed["schemas"] = dict(sorted(schemas.items()))
    return trimmed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="calendar.v3.json (the discovery document)")
    args = parser.parse_args()
    document = json.loads(args.source.read_text(encoding="utf-8"))
    OUTPUT.write_text(json.dumps(trim(document), indent=1, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
