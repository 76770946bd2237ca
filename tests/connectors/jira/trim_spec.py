"""Refresh `tests/fixtures/specs/jira_cloud_platform.trimmed.json` from Jira's full document.

The shared `trim_openapi.py` does the trimming (verbatim operations plus every
component they reference); this names the operations the Jira connector and its
fake use. From the repository root, with the original downloaded (see SOURCES.md)::

    python -m tests.connectors.jira.trim_spec path/to/swagger-v3.v3.json
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

SPECS = Path(__file__).resolve().parents[2] / "fixtures" / "specs"
OUTPUT = SPECS / "jira_cloud_platform.trimmed.json"

OPERATIONS = (
    ("get", "/rest/api/3/serverInfo"),
    ("get", "/rest/api/3/myself"),
    ("get", "/rest/api/3/field"),
    ("post", "/rest/api/3/issue"),
    ("post", "/rest/api/3/issue/bulk"),
    ("get", "/rest/api/3/issue/{issueIdOrKey}"),
    ("put", "/rest/api/3/issue/{issueIdOrKey}"),
    ("get", "/rest/api/3/issue/{issueIdOrKey}/transitions"),
    ("post", "/rest/api/3/issue/{issueIdOrKey}/transitions"),
    ("get", "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}"),
    ("put", "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}"),
    ("get", "/rest/api/3/user/search"),
    ("get", "/rest/api/3/search/jql"),
    ("post", "/rest/api/3/search/jql"),
    # pmhub doctor: the project with its issue types, and the priorities' names.
    ("get", "/rest/api/3/project/{projectIdOrKey}"),
    ("get", "/rest/api/3/priority"),
)


def _trimmer() -> ModuleType:
    # tests/fixtures/specs is a folder of data, not a package: load the script by path.
    spec = importlib.util.spec_from_file_location("trim_openapi", SPECS / "trim_openapi.py")
    if spec is None or spec.loader is None:
        raise ImportError("trim_openapi.py not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    document = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    trimmed = _trimmer().trim(document, OPERATIONS)
    OUTPUT.write_text(json.dumps(trimmed, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    count = sum(len(entries) for entries in trimmed["components"].values())
    print(f"{OUTPUT.name}: {len(OPERATIONS)} operations, {count} components")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
