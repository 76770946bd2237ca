"""YAML that could hang, exhaust or execute is refused by both loaders, at file:line:column.

`pmhub check` reads the configuration and `pmhub policy check` the policy files; both
go through `hub.yamlpos`, and each case is tried through each command as a person
would type it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.policy import check_policy_files
from hub.yamlpos import MAX_DEPTH, TOO_DEEP

DEEP = 5000  # far past Python's recursion limit if anything recursed per level

# (text, line, column, message)
CASES: dict[str, tuple[str, int, int, str]] = {
    "recursive_alias": ("a: &x [*x]\n", 1, 8, "a[0]: an alias refers to a value that contains it"),
    "recursive_alias_in_mapping": (
        "a: &x\n  b: *x\n",
        2,
        6,
        "a.b: an alias refers to a value that contains it",
    ),
    # Refused at the first node deeper than MAX_DEPTH (the top mapping is level 0).
    "nested_too_deeply": (
        "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n",
        1,
        len("a: ") + MAX_DEPTH + 1,
        TOO_DEEP,
    ),
    "nested_far_too_deeply": ("a: " + "[" * DEEP + "\n", 1, len("a: ") + MAX_DEPTH + 1, TOO_DEEP),
    # Shallow where each is written, too deep once the alias is expanded.
    "nested_too_deeply_through_an_alias": (
        "a: &x " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 30 + "*x" + "]" * 30 + "\n",
        1,
        len("a: &x ") + 35,
        TOO_DEEP,
    ),
    "binary_tag": (
        "a: !!binary aGk=\n",
        1,
        4,
        "a: unsupported YAML tag 'tag:yaml.org,2002:binary'",
    ),
    "python_tag": (
        "a: !!python/object/apply:os.system [ls]\n",
        1,
        4,
        "a: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'",
    ),
    "python_name_tag": (
        "a: !!python/name:os.system ''\n",
        1,
        4,
        "a: unsupported YAML tag 'tag:yaml.org,2002:python/name:os.system'",
    ),
    "local_tag": ("a: {b: !custom x}\n", 1, 8, "a.b: unsupported YAML tag '!custom'"),
    "set_tag": ("a: !!set {x}\n", 1, 4, "a: unsupported YAML tag 'tag:yaml.org,2002:set'"),
}
POSITIONED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<column>\d+): (?P<message>.*)$")


def _problems(output: str, file: Path) -> list[tuple[int, int, str]]:
    found = []
    for line in output.splitlines():
        match = POSITIONED.match(line)
        if match and match["file"] == str(file):
            found.append((int(match["line"]), int(match["column"]), match["message"]))
    return found


@pytest.mark.parametrize("case", sorted(CASES))
def test_pmhub_check_refuses_it_with_a_position(tmp_path: Path, case: str) -> None:
    text, line, column, message = CASES[case]
    config = tmp_path / "pmhub.yaml"
    config.write_text(text)
    result = CliRunner().invoke(main, ["check", "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert (line, column, message) in _problems(result.output, config)


@pytest.mark.parametrize("case", sorted(CASES))
def test_pmhub_policy_check_refuses_it_with_a_position(tmp_path: Path, case: str) -> None:
    text, line, column, message = CASES[case]
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\n" + text)  # one line down: the position follows
    result = CliRunner().invoke(main, ["policy", "check", str(policy)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert (line + 1, column, message) in _problems(result.output, policy)


def test_the_issues_example_is_a_problem_not_a_recursion_error(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("a: &x [*x]\n")
    problems = [str(problem) for problem in check_policy_files([policy])]
    assert f"{policy}:1:8: a[0]: an alias refers to a value that contains it" in problems
