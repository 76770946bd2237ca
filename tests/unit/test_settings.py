"""Loading `config/pmhub.yaml`: every problem found, each at its file:line:column."""

from __future__ import annotations

import textwrap
import traceback
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]  # no stubs in the dev extras
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.config import (
    ConfigError,
    ConfigProblem,
    Settings,
    load_settings,
    secret_values,
    settings_from_text,
    settings_json_schema,
)
from hub.config.envsubst import interpolate
from hub.yamlpos import ScalarError

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "config"
SHIPPED = REPO / "config" / "pmhub.yaml"


def problems_of(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env=env or {})
    return [str(problem) for problem in caught.value.problems]


def problems_in_text(text: str, tmp_path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        settings_from_text(textwrap.dedent(text), path=tmp_path / "pmhub.yaml", env=env or {})
    return [problem.message for problem in caught.value.problems]


# --- the shipped file and a complete one ------------------------------------------


def test_the_shipped_config_loads_without_any_environment() -> None:
    settings = load_settings(SHIPPED, env={})
    assert settings.store.url == "sqlite+aiosqlite:///var/pmhub.db"
    assert settings.admin.token is not None
    assert settings.admin.token.get_secret_value() == "change-me-dev-token"
    assert settings.policies == [SHIPPED.parent / "policies" / "pagerduty-process.yaml"]
    assert settings.config_path == SHIPPED


def test_the_shipped_config_takes_the_admin_token_from_the_environment() -> None:
    token = "from-the-environment-0123456789"
    settings = load_settings(SHIPPED, env={"PMHUB_ADMIN_TOKEN": token})
    assert settings.admin.token is not None
    assert settings.admin.token.get_secret_value() == token


def test_the_shipped_config_matches_the_json_schema() -> None:
    raw = yaml.safe_load(SHIPPED.read_text())
    jsonschema.validate(raw, settings_json_schema())


def test_an_empty_file_means_all_defaults(tmp_path: Path) -> None:
    settings = settings_from_text("# nothing yet\n", path=tmp_path / "pmhub.yaml", env={})
    assert settings.model_dump(exclude={"config_path"}) == Settings().model_dump()
    assert settings.server.port == 8080
    assert settings.server.max_body_bytes == 1_048_576
    assert settings.worker.backoff_max_seconds == 600.0
    assert settings.admin.token is None  # the admin API is off
    assert settings.sources.pagerduty is None


def test_an_empty_section_counts_as_absent(tmp_path: Path) -> None:
    text = "server:\nsources:\n  pagerduty:\npolicies:\n"
    settings = settings_from_text(text, path=tmp_path / "pmhub.yaml", env={})
    assert settings.server.port == 8080
    assert settings.sources.pagerduty is None
    assert settings.policies == []


def test_every_key_of_a_complete_file_is_read() -> None:
    settings = load_settings(FIXTURES / "valid_full.yaml", env={})
    assert settings.server.port == 9090
    pagerduty = settings.sources.pagerduty
    assert pagerduty is not None
    assert [s.get_secret_value() for s in pagerduty.webhook_secrets] == [
        "pd-new-XYZZY-secret",
        "pd-old-XYZZY-secret",
    ]
    assert pagerduty.base_url == "https://api.pagerduty.com"
    jira = settings.connectors.jira
    assert jira is not None
    assert jira.priority_map == {"P0": "Blocker", "P1": "Critical"}
    assert jira.issue_type == "Task"
    calendar = settings.connectors.google_calendar
    assert calendar is not None
    assert calendar.credentials_file == FIXTURES / "secrets" / "google-service-account.json"
    assert calendar.root_url == "https://www.googleapis.com/"
    statuspage = settings.connectors.statuspage
    assert statuspage is not None
    assert statuspage.mode == "postmortem"
    assert statuspage.component_ids == ("comp1", "comp2")


def test_settings_are_frozen() -> None:
    settings = load_settings(SHIPPED, env={})
    with pytest.raises(ValueError, match="frozen"):
        settings.server.port = 1  # type: ignore[misc]


# --- one broken thing per file, at its exact position -----------------------------


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "missing_key.yaml",
            "3:3: missing required key 'webhook_secrets' in sources.pagerduty",
        ),
        (
            "wrong_type.yaml",
            "3:22: sources.pagerduty.webhook_secrets: expected a list, got a string",
        ),
        (
            "unknown_key.yaml",
            "3:3: unknown key 'prot' in server"
            " (allowed: host, port, max_body_bytes, admin_port, admin_host,"
            " header_timeout_seconds, keepalive_timeout_seconds, body_timeout_seconds,"
            " max_connections)",
        ),
        (
            "bad_enum.yaml",
            "3:11: log.format: 'xml' is not allowed (allowed: auto, json, console)",
        ),
        ("bad_syntax.yaml", "3:8: invalid YAML: mapping values are not allowed here"),
        (
            "duplicate_key.yaml",
            "4:3: duplicate key 'port' in server (first defined at line 2)",
        ),
        (
            "unset_env.yaml",
            "2:10: admin.token: environment variable PMHUB_TEST_UNSET_TOKEN is not set"
            " (and no ${PMHUB_TEST_UNSET_TOKEN:-default} given)",
        ),
        (
            "not_mapping.yaml",
            "1:1: the file must be a mapping of sections (server:, store:, sources:, ...)",
        ),
    ],
)
def test_a_broken_file_is_reported_at_the_offending_spot(fixture: str, expected: str) -> None:
    path = FIXTURES / fixture
    assert problems_of(path) == [f"{path}:{expected}"]


def test_every_problem_in_a_file_is_reported_in_file_order() -> None:
    path = FIXTURES / "many_problems.yaml"
    assert problems_of(path) == [
        f"{path}:3:3: unknown key 'prot' in server"
        " (allowed: host, port, max_body_bytes, admin_port, admin_host,"
        " header_timeout_seconds, keepalive_timeout_seconds, body_timeout_seconds,"
        " max_connections)",
        f"{path}:4:19: server.max_body_bytes: must be greater than 0 (got 0)",
        f"{path}:6:8: store.url: scheme 'mysql' is not supported"
        " (allowed: sqlite+aiosqlite, postgresql+asyncpg)",
        f"{path}:8:25: worker.backoff_base_seconds: must not exceed backoff_max_seconds (600)",
        f"{path}:10:11: log.format: 'xml' is not allowed (allowed: auto, json, console)",
        f"{path}:12:3: missing required key 'webhook_secrets' in sources.pagerduty",
        f"{path}:14:3: connectors.jira: missing credentials:"
        " set api_token (Jira Cloud) or token (Data Center)",
    ]


def test_config_error_text_is_one_line_per_problem() -> None:
    path = FIXTURES / "many_problems.yaml"
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert str(caught.value).splitlines() == [str(p) for p in caught.value.problems]
    first = caught.value.problems[0]
    assert (first.file, first.line, first.column) == (str(path), 3, 3)


def test_a_problem_prints_as_file_line_column_message() -> None:
    problem = ConfigProblem("pmhub.yaml", 3, 5, "bad\nthing")
    assert str(problem) == "pmhub.yaml:3:5: bad thing"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("server:\n  port: abc\n", "server.port: expected an integer, got 'abc'"),
        ("server:\n  port: 70000\n", "server.port: must be at most 65535 (got 70000)"),
        ("server: 5\n", "server: expected a mapping, got an integer"),
        ("worker:\n  concurrency: 0\n", "worker.concurrency: must be greater than 0 (got 0)"),
        (
            "worker:\n  backoff_max_seconds: .inf\n",
            "worker.backoff_max_seconds: must be a finite number",
        ),
        (
            "log:\n  level: 5\n",
            "log.level: 5 is not allowed (allowed: debug, info, warning, error)",
        ),
        (
            "worker:\n  backoff_max_seconds: 1\n",
            "worker.backoff_base_seconds: must not exceed backoff_max_seconds (1)",
        ),
        ("store:\n  url: var/pmhub.db\n", "store.url: not a database URL (allowed schemes:"),
        ("store:\n  url: postgresql://db/x\n", "store.url: scheme 'postgresql' is not supported"),
        ("policies: x.yaml\n", "policies: expected a list, got a string"),
        ("admin:\n  token: short\n", "admin.token: must be at least 16 characters long"),
        ("config_path: /etc\n", "unknown key 'config_path' at the top level (allowed: server,"),
        (
            "sources:\n  nope: {}\n",
            "unknown key 'nope' in sources (allowed: pagerduty, incidentio,",
        ),
        (
            "connectors:\n  slack:\n    bot_token: xoxb-1\n    incidents_channel: 123\n",
            "connectors.slack.incidents_channel: expected a string, got an integer (put it in",
        ),
        (
            "connectors:\n  jira: {url: 'https://x.example', project: P, api_token: t}\n",
            "connectors.jira.api_token: api_token needs email",
        ),
        (
            "sources:\n  pagerduty:\n    webhook_secrets: []\n",
            "sources.pagerduty.webhook_secrets: must not be empty",
        ),
        (
            "sources:\n  pagerduty:\n    webhook_secrets: [s]\n    base_url: ftp://x\n",
            "sources.pagerduty.base_url: expected an http:// or https:// URL with a host name",
        ),
        (
            "sources:\n  pagerduty:\n    webhook_secrets: [s]\n    from_email: nobody\n",
            "sources.pagerduty.from_email: expected an email address",
        ),
        ("a: !!python/object:os.system x\n", "a: unsupported YAML tag"),
        (f"policies: [{'x' * 300}]\n", "policies[0]: cannot use /"),
        ("policies: [~nobody/p.yaml]\n", "policies[0]: file not found: /"),
    ],
)
def test_messages_name_the_key_and_what_is_allowed(text: str, message: str, tmp_path: Path) -> None:
    [problem] = problems_in_text(text, tmp_path)
    assert problem.startswith(message)


@pytest.mark.parametrize(
    ("text", "env"),
    [
        ("admin:\n  token: ${PMHUB_ADMIN_TOKEN:-}\n", {}),
        ("admin:\n  token: ${PMHUB_ADMIN_TOKEN:-}\n", {"PMHUB_ADMIN_TOKEN": ""}),
        ("admin:\n  token: ${PMHUB_ADMIN_TOKEN}\n", {"PMHUB_ADMIN_TOKEN": ""}),
        ("admin:\n  token: ''\n", {}),
    ],
)
def test_an_empty_admin_token_means_absent_and_the_admin_api_off(
    text: str, env: dict[str, str], tmp_path: Path
) -> None:
    # A container leaves the admin API off by leaving the variable out; off fails closed (403).
    settings = settings_from_text(text, path=tmp_path / "pmhub.yaml", env=env)
    assert settings.admin.token is None


def test_an_optional_admin_token_from_the_environment_is_used_and_checked(tmp_path: Path) -> None:
    text = "admin:\n  token: ${PMHUB_ADMIN_TOKEN:-}\n"
    token = "from-the-environment-0123456789"
    settings = settings_from_text(
        text, path=tmp_path / "pmhub.yaml", env={"PMHUB_ADMIN_TOKEN": token}
    )
    assert settings.admin.token is not None
    assert settings.admin.token.get_secret_value() == token
    assert problems_in_text(text, tmp_path, env={"PMHUB_ADMIN_TOKEN": "too-short"}) == [
        "admin.token: must be at least 16 characters long"
    ]


def test_an_empty_required_secret_is_still_refused(tmp_path: Path) -> None:
    # Only an optional secret may be left out by emptiness; a required one stays required.
    text = "sources:\n  slack:\n    signing_secret: ${SLACK_SIGNING_SECRET:-}\n"
    [problem] = problems_in_text(text, tmp_path)
    assert problem.startswith("sources.slack.signing_secret:")


def test_a_value_with_a_bad_variable_is_reported_once(tmp_path: Path) -> None:
    # The raw `${PORT}` would also fail as an integer; that echo is suppressed.
    assert problems_in_text("server:\n  port: ${PORT}\n", tmp_path) == [
        "server.port: environment variable PORT is not set (and no ${PORT:-default} given)"
    ]


def test_an_unreadable_path_is_a_config_error(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "absent.yaml") == [
        f"{tmp_path / 'absent.yaml'}:1:1: config file not found"
    ]
    assert problems_of(tmp_path) == [f"{tmp_path}:1:1: is a directory, not a file"]
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"server:\n  host: caf\xe9\n")
    assert problems_of(latin1) == [f"{latin1}:2:12: the file is not UTF-8 text"]


# --- environment interpolation ----------------------------------------------------


def test_variables_and_defaults_are_interpolated(tmp_path: Path) -> None:
    text = """\
        server:
          host: ${HOST}
          port: ${PORT:-9000}
        store:
          url: sqlite+aiosqlite:///${DB_DIR:-var}/pmhub.db
        """
    settings = settings_from_text(
        textwrap.dedent(text), path=tmp_path / "pmhub.yaml", env={"HOST": "10.1.2.3"}
    )
    assert settings.server.host == "10.1.2.3"
    assert settings.server.port == 9000  # a string from the default, validated as an int
    assert settings.store.url == "sqlite+aiosqlite:///var/pmhub.db"


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("plain", {}, "plain"),
        ("${A}", {"A": "x"}, "x"),
        ("${A:-d}", {}, "d"),
        ("${A:-d}", {"A": ""}, "d"),  # the shell's `:-`: empty counts as unset
        ("${A:-}", {}, ""),
        ("a${A}b${B:-c}d", {"A": "1"}, "a1bcd"),
        ("$${A}", {"A": "x"}, "${A}"),
        ("pa$$word $5", {}, "pa$$word $5"),  # a lone `$` is just a character
        ("${A}", {"A": "${B}"}, "${B}"),  # values are not interpolated again
    ],
)
def test_interpolation(text: str, env: dict[str, str], expected: str) -> None:
    assert interpolate(text, env) == expected


@pytest.mark.parametrize(
    ("text", "messages"),
    [
        ("${A}${B}", ["environment variable A is not set", "environment variable B is not set"]),
        ("${1A}", ["malformed variable reference"]),
        ("${A", ["malformed variable reference"]),
        ("${A:-x:-y", ["malformed variable reference"]),
    ],
)
def test_interpolation_errors_name_the_variable(text: str, messages: list[str]) -> None:
    with pytest.raises(ScalarError) as caught:
        interpolate(text, {})
    assert [m.split(" (")[0] for m in caught.value.messages] == messages


# --- secrets ----------------------------------------------------------------------


def test_secrets_never_appear_in_repr_or_json() -> None:
    settings = load_settings(FIXTURES / "valid_full.yaml", env={})
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert "XYZZY" not in text
    assert "pmhub:***@db.internal" in settings.model_dump_json()
    # Callers still get the working URL.
    assert "pg-Pa55word-XYZZY" in settings.store.url


def test_secret_values_lists_every_secret_longest_first() -> None:
    settings = load_settings(FIXTURES / "valid_full.yaml", env={})
    values = secret_values(settings)
    assert set(values) == {
        "admin-XYZZY-0123456789",
        "pd-new-XYZZY-secret",
        "pd-old-XYZZY-secret",
        "pd-api-XYZZY-token",
        "whsec_XYZZYbase64secretxyz",
        "inc-api-XYZZY-key",
        "slack-sign-XYZZY",
        "jira-hook-XYZZY",
        "xoxb-XYZZY-bot",
        "jira-api-XYZZY-token",
        "sp-key-XYZZY",
        "pg-Pa55word-XYZZY",
    }
    assert [len(v) for v in values] == sorted((len(v) for v in values), reverse=True)
    assert secret_values(Settings()) == []


def test_secrets_never_appear_in_error_messages_or_tracebacks() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(FIXTURES / "secrets_in_errors.yaml", env={})
    problems = caught.value.problems
    assert len(problems) == 8
    rendered = "".join(traceback.format_exception(caught.value))
    assert "LEAKME" not in rendered
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None


def test_a_secret_with_the_wrong_shape_is_described_not_shown(tmp_path: Path) -> None:
    text = "sources:\n  slack:\n    signing_secret: 12345678901234\n"
    [message] = problems_in_text(text, tmp_path)
    assert message == (
        "sources.slack.signing_secret: expected a string, got an integer (put it in quotes)"
    )


def test_an_interpolated_secret_is_not_echoed(tmp_path: Path) -> None:
    text = "admin:\n  token: ${TOKEN}\n"
    [message] = problems_in_text(text, tmp_path, env={"TOKEN": "LEAKME"})
    assert message == "admin.token: must be at least 16 characters long"


# --- policy files -----------------------------------------------------------------


def test_policy_paths_resolve_against_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # not the config directory: must not matter
    settings = load_settings(FIXTURES / "valid_full.yaml", env={})
    assert settings.policies == [FIXTURES / "policies" / "default.yaml"]


def test_a_missing_policy_file_is_reported_at_its_own_line() -> None:
    path = FIXTURES / "missing_policy.yaml"
    missing = FIXTURES / "policies" / "does-not-exist.yaml"
    assert problems_of(path) == [f"{path}:3:5: policies[1]: file not found: {missing}"]


def test_an_absolute_policy_path_is_kept(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("")
    config = tmp_path / "conf" / "pmhub.yaml"
    settings = settings_from_text(f"policies: ['{policy}']\n", path=config, env={})
    assert settings.policies == [policy]


# --- the JSON schema --------------------------------------------------------------


def test_the_schema_describes_the_file_with_secrets_as_strings() -> None:
    schema = settings_json_schema()
    assert "config_path" not in schema["properties"]
    assert schema["additionalProperties"] is False
    secret = schema["$defs"]["SlackSource"]["properties"]["signing_secret"]
    assert secret["type"] == "string"
    assert secret.get("writeOnly") is True


# --- robustness -------------------------------------------------------------------

_KEYS = ["server", "store", "port", "url", "sources", "pagerduty", "webhook_secrets", "policies"]
_VALUES = ["1", "-1", "x", "${A}", "${A:-1}", "$${", "[]", "{}", "~", "&a 1", "*a", "!!str", "'q"]
_VALUES += ["~nobody/p.yaml", "x" * 300, "2024-02-30", "0x_", ".inf", "sqlite+aiosqlite://"]
_yamlish_line = st.tuples(
    st.sampled_from(["", "  ", "    ", "- ", "  - "]),
    st.sampled_from([*_KEYS, "", "? ", "<<"]),
    st.sampled_from([": ", ":", " ", ""]),
    st.sampled_from(_VALUES) | st.text(max_size=8),
).map("".join)
_yamlish = st.lists(_yamlish_line, max_size=12).map("\n".join) | st.text(
    alphabet=st.sampled_from([*"ab:-[]{},#&*!|>'\"%@`$ \n\t\\?", "\x00", "é"]),
    max_size=60,
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_yamlish)
def test_any_text_loads_or_raises_config_error(text: str) -> None:
    path = Path("/nonexistent/pmhub.yaml")
    problems: list[ConfigProblem] = []
    try:
        settings_from_text(text, path=path, env={})
    except ConfigError as exc:  # the only exception allowed out
        problems = exc.problems
        if not problems:
            pytest.fail("a ConfigError without problems")
    # YAML breaks lines at \r too (and at NEL/LS/PS); splitlines knows all of them.
    line_count = len(text.splitlines()) + 2
    for problem in problems:
        assert problem.file == str(path)
        assert 1 <= problem.line <= line_count
        assert problem.column >= 1
        assert "\n" not in str(problem)


def test_a_value_from_the_environment_is_never_echoed(tmp_path: Path) -> None:
    text = "log:\n  format: ${FORMAT}\nserver:\n  port: ${PORT}\n"
    env = {"FORMAT": "LEAKME-format", "PORT": "LEAKME-port"}
    assert problems_in_text(text, tmp_path, env=env) == [
        "log.format: the value is not allowed (allowed: auto, json, console)",
        "server.port: expected an integer, got a string",
    ]
