"""YAML loading with positions: where things are, and what plain YAML lets slip."""

from __future__ import annotations

import textwrap

import pytest

from hub.yamlpos import (
    MAX_DEPTH,
    TOO_DEEP,
    Located,
    Mark,
    ScalarError,
    YamlDocument,
    YamlSyntaxError,
    describe_path,
    load_yaml,
)


def load(text: str) -> YamlDocument:
    return load_yaml(textwrap.dedent(text))


def test_keys_and_values_are_located_one_based() -> None:
    doc = load_yaml(
        textwrap.dedent(
            """\
            # comment
            server:
              port: 8080
            list:
              - a
              - {k: v}
            """
        )
    )
    assert doc.data == {"server": {"port": 8080}, "list": ["a", {"k": "v"}]}
    assert doc.positions[("server",)] == Located(Mark(2, 1), Mark(3, 3), "mapping")
    assert doc.positions[("server", "port")] == Located(Mark(3, 3), Mark(3, 9), "scalar")
    assert doc.positions[("list", 0)].value == Mark(5, 5)
    assert doc.positions[("list", 1, "k")] == Located(Mark(6, 6), Mark(6, 9), "scalar")


def test_an_empty_value_is_located_at_its_key() -> None:
    # PyYAML marks an empty value just after the colon, which helps nobody.
    doc = load_yaml("server:\n  port:\n")
    assert doc.data == {"server": {"port": None}}
    assert doc.positions[("server", "port")].value == Mark(2, 3)


def test_locate_skips_names_that_are_not_nodes() -> None:
    doc = load_yaml("a:\n  b: [x, y]\n")
    assert doc.locate(["a", "b", 1]) == (("a", "b", 1), doc.positions[("a", "b", 1)])
    # A missing key, or a validator's own marker, resolves to the nearest known node.
    assert doc.locate(["a", "missing"])[0] == ("a",)
    assert doc.locate(["a", "function-after[check()]", "b"])[0] == ("a", "b")
    assert doc.locate([])[0] == ()


def test_duplicate_keys_are_reported_and_the_last_one_wins() -> None:
    doc = load_yaml("a: 1\nb: 2\na: 3\n")
    assert doc.data == {"a": 3, "b": 2}
    [problem] = doc.problems
    assert problem.mark == Mark(3, 1)
    assert problem.message == "duplicate key 'a' at the top level (first defined at line 1)"


def test_merge_keys_may_override_without_being_duplicates() -> None:
    doc = load(
        """\
        base: &base {host: a, port: 1}
        server:
          <<: *base
          port: 2
        """
    )
    assert doc.data["server"] == {"host": "a", "port": 2}
    assert doc.problems == []


def test_keys_are_literal_text_not_yaml_booleans_or_numbers() -> None:
    assert load_yaml("no: 1\n1: 2\nnull: 3\n").data == {"no": 1, "1": 2, "null": 3}


def test_scalar_values_follow_the_core_schema() -> None:
    doc = load_yaml("a: 1\nb: 1.5\nc: true\nd: ~\ne: '1'\n")
    assert doc.data == {"a": 1, "b": 1.5, "c": True, "d": None, "e": "1"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!binary aGk=\n", "a: unsupported YAML tag 'tag:yaml.org,2002:binary'"),
        ("a: !custom x\n", "a: unsupported YAML tag '!custom'"),
        ("a: !!python/object:os.system x\n", "a: unsupported YAML tag"),
        ("a: !!set {x}\n", "a: unsupported YAML tag 'tag:yaml.org,2002:set'"),
        ("a: !!int 0x_\n", "a: value is not a valid int"),
        ("a: 2024-02-30\n", "a: value is not a valid timestamp"),
    ],
)
def test_unsafe_or_unparsable_scalars_are_problems(text: str, message: str) -> None:
    doc = load_yaml(text)
    [problem] = doc.problems
    assert problem.message.startswith(message)
    assert problem.mark == Mark(1, 4)
    assert problem.invalidates
    assert doc.data == {"a": None}


def test_a_recursive_alias_is_a_problem_not_a_hang() -> None:
    doc = load_yaml("a: &x [1, *x]\n")
    assert [p.message for p in doc.problems] == [
        "a[1]: an alias refers to a value that contains it"
    ]


def test_an_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(YamlSyntaxError, match="too large"):
        load_yaml("\n".join(lines))


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(YamlSyntaxError, match="nested too deeply"):
        load_yaml("[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2))
    with pytest.raises(YamlSyntaxError, match="nested too deeply"):
        load_yaml("[" * 5000)


def test_syntax_errors_carry_the_problem_mark() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml("a: 1\n b: 2\n")
    assert caught.value.mark == Mark(2, 3)
    assert caught.value.message.startswith("invalid YAML: mapping values are not allowed here")


def test_a_forbidden_character_is_located() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml("a: 1\nb: x\x00y\n")
    assert caught.value.mark == Mark(2, 5)


def test_several_documents_are_refused() -> None:
    with pytest.raises(YamlSyntaxError, match="single document"):
        load_yaml("a: 1\n---\nb: 2\n")


def test_an_empty_document_is_none() -> None:
    assert load_yaml("# nothing\n").data is None


def test_the_string_hook_sees_strings_only_and_may_reject_them() -> None:
    seen: list[str] = []

    def hook(text: str) -> str:
        seen.append(text)
        if text == "bad":
            raise ScalarError(["first", "second"])
        return text.upper()

    doc = load_yaml("key: value\nn: 1\nq: 'bad'\n", on_string=hook)
    assert seen == ["value", "bad"]  # keys and numbers are not passed through
    assert doc.data == {"key": "VALUE", "n": 1, "q": "bad"}
    assert [(p.mark, p.message) for p in doc.problems] == [
        (Mark(3, 4), "q: first"),
        (Mark(3, 4), "q: second"),
    ]


def test_a_non_scalar_key_is_a_problem() -> None:
    doc = load_yaml("? [a, b]\n: 1\nc: 2\n")
    assert doc.data == {"c": 2}
    assert [p.message for p in doc.problems] == ["a mapping key must be a plain name"]


def test_describe_path() -> None:
    assert describe_path(["sources", "pagerduty", "webhook_secrets", 1]) == (
        "sources.pagerduty.webhook_secrets[1]"
    )
    assert describe_path([]) == "the top level"


def test_clock_like_plain_scalars_stay_text() -> None:
    # YAML 1.1 reads 9:30 as the base-60 integer 570; nobody writing a time means that.
    doc = load_yaml("start: 9:30\nend: '17:00'\nat: 09:00:30\nn: 930\nr: 1:2:3:4\n")
    assert doc.data == {"start": "9:30", "end": "17:00", "at": "09:00:30", "n": 930, "r": 223384}


def test_a_value_reached_through_an_alias_is_located_at_the_alias() -> None:
    doc = load_yaml("a: &x {k: v}\nb:\n  c: *x\nd: [1, *x]\n")
    assert doc.data["b"]["c"] == {"k": "v"}
    assert doc.positions[("b", "c")].value == Mark(3, 6)
    assert doc.positions[("d", 1)].value == Mark(4, 8)
    # What is inside the anchored value is where it was written.
    assert doc.positions[("b", "c", "k")].value == Mark(1, 11)


def test_a_recursive_alias_is_located_where_it_recurses() -> None:
    [problem] = load_yaml("a: &x\n  b: [1, *x]\n").problems
    assert (problem.mark, problem.message) == (
        Mark(2, 10),
        "a.b[1]: an alias refers to a value that contains it",
    )


def test_nesting_is_refused_while_composing_at_the_first_level_too_deep() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml("[" * 100_000)
    assert caught.value.mark == Mark(1, MAX_DEPTH + 2)
    assert caught.value.message == TOO_DEEP


def test_position_and_data_at() -> None:
    doc = load_yaml("a:\n  b: 1\n  c: [x]\n")
    assert doc.position(["a", "b"]) == Mark(2, 6)
    assert doc.position(["a", "b"], key=True) == Mark(2, 3)
    assert doc.position(["a", "missing"]) == Mark(2, 3)  # the parent's value
    assert doc.data_at(["a", "c"]) == ["x"]
    assert doc.data_at(["a", "b", "deeper"]) is None
