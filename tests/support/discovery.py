"""Check Google API requests and answers against Google's discovery documents.

Google publishes its APIs (Calendar v3, Drive v3, Docs v1) as *discovery* documents,
not OpenAPI, so `tests/support/contract.py` does not apply. This converts its schemas to JSON Schema
(draft 2020-12, checked with openapi-schema-validator's OAS 3.1 validator, which is
that dialect; typed, unlike `jsonschema` here) and checks:

* requests: the URL matches a documented method (`servicePath` + `path`), every
  path parameter is documented with `location: path`, every query parameter is
  documented (method or global) with `location: query` and its type/enum/range,
  required parameters are present, and the body matches the method's `request`
  schema, including fields the schema marks required for that method
  (`annotations.required`);
* answers: a 2xx body matches the method's `response` schema; an error body matches
  Google's documented error shape (the discovery document does not describe errors).

Schemas are strict (`additionalProperties: false` unless the document allows extra
keys): a misspelt field in a request, or an invented one in the fake, is a violation
here while Google would silently ignore it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS31Validator, oas31_format_checker

SPECS = Path(__file__).resolve().parents[1] / "fixtures/specs"
SPEC = SPECS / "google_calendar.v3.trimmed.json"
KEPT_FORMATS = {"date-time", "date"}

# Google's error body, as its "Handle API errors" guide for Calendar shows it.
GOOGLE_ERROR = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "errors"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "integer"},
                "message": {"type": "string"},
                "status": {"type": "string"},
                "errors": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["domain", "reason", "message"],
                        "additionalProperties": False,
                        "properties": {
                            name: {"type": "string"}
                            for name in ("domain", "reason", "message", "locationType", "location")
                        },
                    },
                },
            },
        }
    },
}


class ContractViolation(AssertionError):
    """What was sent or answered does not match Google's discovery document."""


def to_json_schema(node: Mapping[str, Any], method_id: str | None = None) -> dict[str, Any]:
    """One discovery schema (or property) as JSON Schema; `$ref`s point into `$defs`."""
    if "$ref" in node:
        return {"$ref": f"#/$defs/{node['$ref']}"}
    out: dict[str, Any] = {}
    kind = node.get("type")
    if kind and kind != "any":
        out["type"] = kind
    if node.get("format") in KEPT_FORMATS:
        out["format"] = node["format"]
    if "enum" in node:
        out["enum"] = node["enum"]
    for bound in ("minimum", "maximum"):
        if bound in node:
            out[bound] = int(node[bound])  # discovery writes numbers as strings
    if "items" in node:
        out["items"] = to_json_schema(node["items"], method_id)
    if kind == "object":
        properties = node.get("properties", {})
        out["properties"] = {k: to_json_schema(v, method_id) for k, v in properties.items()}
        extra = node.get("additionalProperties")
        out["additionalProperties"] = to_json_schema(extra, method_id) if extra else False
        required = [
            name
            for name, prop in properties.items()
            if method_id in prop.get("annotations", {}).get("required", ())
        ]
        if required:
            out["required"] = required
    return out


@dataclass(frozen=True)
class Method:
    id: str
    http_method: str
    path: str
    pattern: re.Pattern[str]
    description: Mapping[str, Any]


class DiscoveryContract:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        service_path = str(document["servicePath"]).strip("/")
        self._base = f"/{service_path}/" if service_path else "/"  # Docs' is ""
        self.methods = [
            self._method(desc)
            for resource in document["resources"].values()
            for desc in resource.get("methods", {}).values()
        ]

    @classmethod
    def load(cls, path: Path = SPEC) -> DiscoveryContract:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def _method(self, desc: Mapping[str, Any]) -> Method:
        template = self._base + str(desc["path"])
        regex = re.sub(r"\\\{\+?(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        return Method(desc["id"], desc["httpMethod"], template, re.compile(f"^{regex}$"), desc)

    def _validator(self, schema: Mapping[str, Any], method_id: str | None) -> OAS31Validator:
        defs = {
            name: to_json_schema(value, method_id)
            for name, value in self.document["schemas"].items()
        }
        return OAS31Validator({**schema, "$defs": defs}, format_checker=oas31_format_checker)

    def _errors(self, schema: Mapping[str, Any], instance: Any, method_id: str | None) -> list[str]:
        return [
            f"at /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
            for e in self._validator(schema, method_id).iter_errors(instance)
        ]

    def match(self, http_method: str, path: str) -> tuple[Method, dict[str, str]]:
        for method in self.methods:
            found = method.pattern.match(path)
            if found and method.http_method == http_method.upper():
                return method, found.groupdict()
        raise ContractViolation(f"{http_method} {path} matches no documented method")

    def validate_request(
        self, http_method: str, path: str, *, query: Iterable[tuple[str, str]] = (), body: Any
    ) -> Method:
        method, path_values = self.match(http_method, path)
        own = method.description.get("parameters", {})
        errors: list[str] = []
        for name in path_values:
            if own.get(name, {}).get("location") != "path":
                errors.append(f"path parameter {name!r} is not documented in the path")
        sent: dict[str, list[str]] = {}
        for name, value in query:
            sent.setdefault(name, []).append(value)
        for name, values in sent.items():
            param = own.get(name) or self.document["parameters"].get(name)
            if param is None or param.get("location") != "query":
                errors.append(f"query parameter {name!r} is not documented")
                continue
            if len(values) > 1 and not param.get("repeated"):
                errors.append(f"query parameter {name!r} is sent {len(values)} times")
            for value in values:
                errors += [f"query {name}: {e}" for e in _check_parameter(param, value)]
        for name, param in own.items():
            if param.get("required") and name not in path_values and name not in sent:
                errors.append(f"required {param.get('location')} parameter {name!r} is missing")
        errors += self._check_body(method, body)
        if errors:
            raise ContractViolation(f"{http_method} {path} ({method.id}):\n" + "\n".join(errors))
        return method

    def _check_body(self, method: Method, body: Any) -> list[str]:
        request = method.description.get("request")
        if request is None:
            return [] if body is None else ["a body was sent but none is documented"]
        if body is None:
            return ["the request body is missing"]
        return self._errors(to_json_schema(request), body, method.id)

    def validate_response(self, method: Method, status: int, body: Any) -> None:
        if 200 <= status < 300:
            response = method.description.get("response")
            schema = to_json_schema(response) if response else {"type": "null"}
            errors = self._errors(schema, body, None)
        else:
            errors = self._errors(GOOGLE_ERROR, body, None)
            if not errors and body["error"]["code"] != status:
                errors = [f"error.code {body['error']['code']} is not the status {status}"]
        if errors:
            raise ContractViolation(f"{method.id} {status} answer:\n" + "\n".join(errors))


def _check_parameter(param: Mapping[str, Any], raw: str) -> list[str]:
    kind = param.get("type")
    value: Any = raw
    if kind == "integer":
        try:
            value = int(raw)
        except ValueError:
            return [f"{raw!r} is not an integer"]
    elif kind == "boolean":
        if raw not in ("true", "false"):
            return [f"{raw!r} is not a boolean"]
        value = raw == "true"
    schema = to_json_schema({k: v for k, v in param.items() if k != "format"})
    return [e.message for e in OAS31Validator(schema).iter_errors(value)]
