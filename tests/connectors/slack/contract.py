"""Check Slack Web API calls against Slack's published contract (two documents).

`tests/support/contract.py` reads OpenAPI 3; Slack publishes Swagger 2.0 (arguments
are `formData`/`query` parameters, schemas under `definitions`) plus per-method docs.
This adapter reads both trimmed copies (tests/fixtures/specs/slack_*):

* requests: the HTTP verb is the documented one; every argument (query string, form
  field or JSON key) is documented in either document; required ones are present;
  scalar types hold (form values coerced as Slack does: "1"/"true"); a JSON body is
  only sent to methods documented as accepting one (`json_input_supported`); and the
  token travels as `Authorization: Bearer` (the method docs' recommended way).
* answers: ok answers validate against the Swagger `200` schema (JSON Schema draft 4,
  `$ref`s resolved in the document); error answers are `{"ok": false, "error": e}`
  with `e` among the method's documented errors (the union of both documents, whose
  lists differ: the 2020 Swagger names common errors, the current docs newer ones).

The Swagger document predates message metadata (2022) and has defects; `ERRATA`
replaces the parts that are wrong, each with its reason, instead of bending the fake.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# Swagger 2 schemas are JSON Schema draft 4 (type lists, tuple `items`), which the typed
# openapi-schema-validator dialects (OAS 3.0/3.1) read differently. jsonschema ships no
# type information and types-jsonschema is not a dependency.
from jsonschema import Draft4Validator, FormatChecker  # type: ignore[import-untyped]
from referencing import Registry
from referencing.jsonschema import DRAFT4

SPECS = Path(__file__).parents[2] / "fixtures" / "specs"
SWAGGER = SPECS / "slack_web_openapi_v2.trimmed.json"
METHOD_DOCS = SPECS / "slack_method_docs.trimmed.json"
BASE_URI = "urn:pmhub:slack-swagger"

# Slack's rate-limit answer (docs.slack.dev/apis/web-api/rate-limits): HTTP 429, a
# Retry-After header and `"error": "ratelimited"`, for every method. It is a common
# error, listed in no method's own errors.
RATE_LIMITED = "ratelimited"
HTTP_TOO_MANY_REQUESTS = 429
# Errors every Web API method may answer. The Swagger document repeats them in each
# method's error enum (the auth pair is in 88 of its 99 enums) but gives views.open only
# a "Default error template" without one, whose own example error is
# `invalid_arguments`; the method docs list only a method's own errors.
COMMON_ERRORS = frozenset({"not_authed", "invalid_auth", "invalid_arguments"})

_HISTORY_200 = "/paths/~1conversations.history/get/responses/200/schema/properties"
ERRATA: dict[str, Any] = {
    # Message metadata (2022) postdates the 2020 document, and `objs_message` forbids
    # unknown properties. Shape from chat.postMessage's `metadata` argument doc.
    "/definitions/objs_message/properties/metadata": {
        "type": "object",
        "required": ["event_type", "event_payload"],
        "properties": {"event_type": {"type": "string"}, "event_payload": {"type": "object"}},
    },
    # An empty channel has no messages; the current docs say minItems 0.
    f"{_HISTORY_200}/messages/minItems": 0,
    # The document's own example answer has `response_metadata`, which its schema
    # (additionalProperties: false) forbids; the current docs list it.
    f"{_HISTORY_200}/response_metadata": {
        "type": "object",
        "required": ["next_cursor"],
        "properties": {"next_cursor": {"type": "string"}},
    },
    # Echoed back when a `latest` is given (the method docs' own example shows it; the
    # current docs list it among the answer's fields).
    f"{_HISTORY_200}/latest": {"type": "string"},
    # `blocks` is declared an object here and an array everywhere else (`blocks`).
    "/paths/~1chat.update/post/responses/200/schema/properties/message/properties/blocks": {
        "$ref": "#/definitions/blocks"
    },
}


class ContractViolation(AssertionError):
    """What was sent or answered does not match Slack's published contract."""


def _set_pointer(document: Any, pointer: str, value: Any) -> None:
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.lstrip("/").split("/")]
    node = document
    for token in tokens[:-1]:
        node = node[token]
    node[tokens[-1]] = value


def _scalar_ok(kind: str | None, value: Any, *, from_form: bool) -> bool:
    if kind == "boolean":
        return value in (True, False) or (from_form and value in ("1", "0", "true", "false"))
    if kind in ("integer", "number"):
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float):
            return True
        try:
            float(value)
        except (TypeError, ValueError):
            return False
        return from_form
    return kind != "string" or isinstance(value, str)


# Methods documented by the Swagger document alone (their docs.slack.dev page is not
# saved, see tests/fixtures/specs/slack_trim.py): no arguments beyond the Swagger's.
SWAGGER_ONLY = frozenset({"auth.test"})
_NO_METHOD_DOC: Mapping[str, Any] = {"args": {"properties": {}, "required": []}}


class SlackContract:
    def __init__(self, swagger: Mapping[str, Any], docs: Mapping[str, Any]) -> None:
        document = copy.deepcopy(dict(swagger))
        for pointer, value in ERRATA.items():
            _set_pointer(document, pointer, value)
        self.swagger = document
        self.docs = {**dict.fromkeys(SWAGGER_ONLY, _NO_METHOD_DOC), **docs}
        self._registry: Registry[Any] = Registry().with_resource(
            BASE_URI, DRAFT4.create_resource(document)
        )

    @classmethod
    def load(cls) -> SlackContract:
        return cls(
            json.loads(SWAGGER.read_text(encoding="utf-8")),
            json.loads(METHOD_DOCS.read_text(encoding="utf-8")),
        )

    # -- lookup -------------------------------------------------------------------

    def _operation(self, method: str) -> tuple[str, Mapping[str, Any]]:
        item = self.swagger["paths"].get(f"/{method}")
        if item is None or method not in self.docs:
            raise ContractViolation(f"{method} is not a documented method")
        verb, operation = next(iter(item.items()))
        return verb, operation

    def _verb(self, method: str) -> str:
        """The HTTP verb, as the current method docs give it (the 2020 Swagger document
        says GET for views.open, whose view is a JSON body: slack_sdk POSTs it)."""
        verb, _ = self._operation(method)
        documented = self.docs[method].get("http_method")
        return documented.lower() if isinstance(documented, str) else verb

    def _arguments(self, method: str) -> dict[str, str | None]:
        """Every documented argument name -> its scalar type (None: anything)."""
        _, operation = self._operation(method)
        known: dict[str, str | None] = {}
        for param in operation.get("parameters", []):
            if param["in"] != "header":
                known[param["name"]] = param.get("type")
        for name, spec in self.docs[method]["args"]["properties"].items():
            known.setdefault(name, spec.get("type"))
        return known

    def _json_args(self, method: str) -> set[str]:
        """Arguments that are JSON "presented as a URL-encoded string" in a form."""
        docs = self.docs[method]["args"]["properties"]
        return {name for name, spec in docs.items() if "JSON" in str(spec.get("desc", ""))}

    def documented_errors(self, method: str) -> frozenset[str]:
        _, operation = self._operation(method)
        schema = operation["responses"]["default"]["schema"]
        listed = set(schema["properties"].get("error", {}).get("enum", [])) or COMMON_ERRORS
        return frozenset(listed | set(self.docs[method].get("errors", {})))

    # -- requests -------------------------------------------------------------------

    def validate_request(
        self,
        http_method: str,
        method: str,
        *,
        query: Iterable[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "",
    ) -> None:
        verb = self._verb(method)
        errors: list[str] = []
        if http_method.lower() != verb:
            errors.append(f"sent as {http_method}, documented as {verb.upper()}")
        is_json = content_type == "application/json"
        if is_json and not self.docs[method].get("json_input_supported"):
            errors.append("a JSON body was sent; the method takes form fields only")
        sent_headers = {k.lower(): v for k, v in (headers or {}).items()}
        if not sent_headers.get("authorization", "").startswith("Bearer "):
            errors.append("the token was not sent as Authorization: Bearer")
        args: dict[str, tuple[Any, bool]] = {name: (value, True) for name, value in query}
        if isinstance(body, Mapping):
            args.update({name: (value, not is_json) for name, value in body.items()})
        errors += self._check_args(method, args)
        if errors:
            raise ContractViolation(f"{http_method} {method} request:\n" + "\n".join(errors))

    def _check_args(self, method: str, args: Mapping[str, tuple[Any, bool]]) -> list[str]:
        known = self._arguments(method)
        json_args = self._json_args(method)
        errors = []
        if "token" in args:
            errors.append("the token was sent as an argument")
        for name, (value, from_form) in args.items():
            if name not in known:
                errors.append(f"argument {name!r} is not documented")
            elif name in json_args:
                if from_form:
                    try:
                        json.loads(value)
                    except (TypeError, ValueError):
                        errors.append(f"argument {name!r} is not JSON")
            elif not _scalar_ok(known[name], value, from_form=from_form):
                errors.append(f"argument {name!r}={value!r} is not a {known[name]}")
        required = set(self.docs[method]["args"].get("required", [])) - {"token"}
        errors += [f"required argument {name!r} is missing" for name in required - args.keys()]
        return errors

    # -- answers --------------------------------------------------------------------

    def validate_response(
        self, method: str, status: int, body: Any, headers: Mapping[str, str] | None = None
    ) -> None:
        verb, _ = self._operation(method)
        if not isinstance(body, Mapping) or not isinstance(body.get("ok"), bool):
            raise ContractViolation(f"{method} {status}: not a Slack answer: {body!r}")
        if body["ok"]:
            if status != 200:
                raise ContractViolation(f"{method}: ok answer with HTTP {status}")
            pointer = f"/paths/~1{method}/{verb}/responses/200/schema"
            self._validate(pointer, body, f"{method} ok answer")
            return
        self._validate_error(method, status, body, headers or {})

    def _validate_error(
        self, method: str, status: int, body: Mapping[str, Any], headers: Mapping[str, str]
    ) -> None:
        error = body.get("error")
        if set(body) - {"ok", "error", "response_metadata"}:
            raise ContractViolation(f"{method}: unexpected fields in {body!r}")
        if status == HTTP_TOO_MANY_REQUESTS:
            retry_after = {k.lower(): v for k, v in headers.items()}.get("retry-after")
            if error != RATE_LIMITED or not (retry_after or "").isdigit():
                raise ContractViolation(f"{method} 429: {body!r}, Retry-After {retry_after!r}")
            return
        if status != 200:
            raise ContractViolation(f"{method}: error answer with HTTP {status}")
        if error not in self.documented_errors(method):
            raise ContractViolation(f"{method}: error {error!r} is not documented")

    def _validate(self, pointer: str, instance: Any, what: str) -> None:
        validator = Draft4Validator(
            {"$ref": f"{BASE_URI}#{pointer}"},
            registry=self._registry,
            format_checker=FormatChecker(),
        )
        problems = [
            f"at /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
            for e in validator.iter_errors(instance)
        ]
        if problems:
            raise ContractViolation(f"{what}:\n" + "\n".join(problems))

    def example_answers(self, method: str) -> list[Mapping[str, Any]]:
        """Slack's own example answers from both documents (for checking the checker)."""
        _, operation = self._operation(method)
        found = [
            response["examples"]["application/json"]
            for response in operation["responses"].values()
            if "examples" in response
        ]
        found += [e["example"] for e in self.docs[method].get("examples", {}).values()]
        return found
