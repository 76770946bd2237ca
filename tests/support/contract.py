"""Check requests and responses against a vendor's OpenAPI 3.0 document.

A fake is only worth testing against if it answers the way the vendor documents, and
a client only works if it asks the way the vendor documents. Both are checked here:

* `validate_response(method, path_template, status, body)`: the documented response
  for that status (or `default`) and its JSON schema;
* `validate_request(method, path, query=..., headers=..., body=...)`: path parameters,
  query parameters (unknown names are violations: a typo such as `include` for
  `include[]` is silently ignored by the real API), required headers, the
  security requirement, and the JSON body.

Schemas are checked with `jsonschema` through openapi-schema-validator's OAS 3.0
validators (the dialect with `nullable`, `readOnly`/`writeOnly`; responses are
read-side, request bodies write-side), `$ref`s resolved inside the document with
`referencing`, formats checked where a checker exists (date-time, email, ...).

Vendor documents have defects; `errata` (JSON pointer -> replacement) and
`one_of_as_any_of` let a test say so explicitly, with its reason, rather than weaken
the fake. Anything else that does not match is a `ContractViolation`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30WriteValidator,
    oas30_format_checker,
)
from referencing import Registry
from referencing.jsonschema import DRAFT4

BASE_URI = "urn:pmhub:openapi"
JSON_MEDIA = "application/json"


class ContractViolation(AssertionError):
    """What was sent or answered does not match the vendor's published contract."""


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _set_pointer(document: Any, pointer: str, value: Any) -> None:
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.lstrip("/").split("/")]
    node = document
    for token in tokens[:-1]:
        node = node[int(token)] if isinstance(node, list) else node[token]
    if isinstance(node, list):
        node[int(tokens[-1])] = value
    else:
        node[tokens[-1]] = value


def _one_of_to_any_of(node: Any) -> None:
    if isinstance(node, dict):
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
        for child in node.values():
            _one_of_to_any_of(child)
    elif isinstance(node, list):
        for child in node:
            _one_of_to_any_of(child)


def _coerce(raw: str, schema: Mapping[str, Any]) -> Any:
    """Query and header values arrive as text; compare them as the schema's type."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        return raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


class OpenApiContract:
    def __init__(
        self,
        document: Mapping[str, Any],
        *,
        errata: Mapping[str, Any] | None = None,
        one_of_as_any_of: bool = False,
        slashed: Iterable[str] = (),
    ) -> None:
        """`slashed`: path parameters whose values may contain '/' (GitHub's `{path}`,
        `{ref}`: the document says so only in prose)."""
        doc = copy.deepcopy(dict(document))
        greedy = frozenset(slashed)
        for pointer, value in (errata or {}).items():
            _set_pointer(doc, pointer, value)
        if one_of_as_any_of:
            _one_of_to_any_of(doc)
        self.document = doc
        self._registry: Registry[Any] = Registry().with_resource(
            BASE_URI, DRAFT4.create_resource(doc)
        )

        def group(found: re.Match[str]) -> str:
            name = found.group(1)
            return f"(?P<{name}>{'.+' if name in greedy else '[^/]+'})"

        self._templates = [
            (template, re.compile("^" + re.sub(r"\\{(\w+)\\}", group, re.escape(template)) + "$"))
            for template in doc["paths"]
        ]

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        errata: Mapping[str, Any] | None = None,
        one_of_as_any_of: bool = False,
        slashed: Iterable[str] = (),
    ) -> OpenApiContract:
        document = json.loads(path.read_text(encoding="utf-8"))
        return cls(document, errata=errata, one_of_as_any_of=one_of_as_any_of, slashed=slashed)

    # -- lookup -------------------------------------------------------------------

    def match(self, path: str) -> tuple[str, dict[str, str]]:
        """A concrete path -> (its path template, the path parameters)."""
        for template, pattern in self._templates:
            found = pattern.match(path)
            if found:
                return template, found.groupdict()
        raise ContractViolation(f"{path} matches no documented path")

    def operation(self, method: str, template: str) -> Mapping[str, Any]:
        item = self.document["paths"].get(template)
        if item is None or method.lower() not in item:
            raise ContractViolation(f"{method.upper()} {template} is not a documented operation")
        operation: Mapping[str, Any] = item[method.lower()]
        return operation

    def _resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        return self._locate("", node)[1]

    def _locate(self, pointer: str, node: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
        """Follow `$ref`s from `node` (found at `pointer`) to (final pointer, object)."""
        while "$ref" in node:
            pointer = str(node["$ref"]).removeprefix("#")
            node = self._registry.resolver(BASE_URI).lookup(node["$ref"]).contents
        return pointer, node

    def _parameters(self, method: str, template: str) -> dict[tuple[str, str], Mapping[str, Any]]:
        shared = self.document["paths"][template].get("parameters", [])
        params = {}
        for raw in [*shared, *self.operation(method, template).get("parameters", [])]:
            param = self._resolve(raw)
            params[
                (param["in"], param["name"].lower() if param["in"] == "header" else param["name"])
            ] = param
        return params

    def _errors(self, schema_pointer: str, instance: Any, *, write: bool) -> list[str]:
        cls = OAS30WriteValidator if write else OAS30ReadValidator
        validator = cls(
            {"$ref": f"{BASE_URI}#{schema_pointer}"},
            registry=self._registry,
            format_checker=oas30_format_checker,
        )
        return [
            f"at /{'/'.join(map(str, error.absolute_path))}: {error.message[:300]}"
            for error in sorted(
                validator.iter_errors(instance), key=lambda e: list(map(str, e.path))
            )
        ]

    def _check_value(self, where: str, schema: Mapping[str, Any], value: Any) -> list[str]:
        cls = OAS30WriteValidator
        validator = cls(schema, registry=self._registry, format_checker=oas30_format_checker)
        return [f"{where}: {error.message[:200]}" for error in validator.iter_errors(value)]

    # -- responses ----------------------------------------------------------------

    def validate_response(self, method: str, template: str, status: int, body: Any) -> None:
        responses = self.operation(method, template).get("responses", {})
        key = next(
            (k for k in (str(status), f"{str(status)[0]}XX", "default") if k in responses), None
        )
        if key is None:
            raise ContractViolation(
                f"{method.upper()} {template}: status {status} is not documented"
            )
        where = f"/paths/{_escape(template)}/{method.lower()}/responses/{_escape(key)}"
        where, response = self._locate(where, responses[key])
        if JSON_MEDIA not in response.get("content", {}):
            if body is not None:
                raise ContractViolation(f"{method.upper()} {template} {status}: no body documented")
            return
        pointer = f"{where}/content/{_escape(JSON_MEDIA)}/schema"
        errors = self._errors(pointer, body, write=False)
        if errors:
            raise ContractViolation(
                f"{method.upper()} {template} {status} answer:\n" + "\n".join(errors)
            )

    def documents_status(self, method: str, template: str, status: int) -> bool:
        responses = self.operation(method, template).get("responses", {})
        return any(k in responses for k in (str(status), f"{str(status)[0]}XX", "default"))

    def validate_component(self, name: str, instance: Any) -> None:
        """Check a body against `#/components/schemas/<name>` (e.g. a vendor's error shape
        for statuses every operation may answer but none lists: 401, 429, 5xx)."""
        errors = self._errors(f"/components/schemas/{_escape(name)}", instance, write=False)
        if errors:
            raise ContractViolation(f"not a {name}:\n" + "\n".join(errors))

    # -- requests -----------------------------------------------------------------

    def validate_request(
        self,
        method: str,
        path: str,
        *,
        query: Iterable[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> str:
        """Check one request; returns the path template it matched."""
        template, path_values = self.match(path)
        operation = self.operation(method, template)
        params = self._parameters(method, template)
        sent_headers = {name.lower(): value for name, value in (headers or {}).items()}
        errors: list[str] = []

        for name, value in path_values.items():
            param = params.get(("path", name))
            if param is None:
                errors.append(f"path parameter {name} is not documented")
            else:
                schema = self._resolve(param.get("schema", {}))
                errors += self._check_value(f"path {name}", schema, _coerce(value, schema))

        errors += self._check_query(params, list(query))
        errors += self._check_headers(params, sent_headers, has_body=body is not None)
        errors += self._check_security(operation, sent_headers)
        errors += self._check_body(method, template, operation, body)
        if errors:
            raise ContractViolation(f"{method.upper()} {path} request:\n" + "\n".join(errors))
        return template

    def _check_query(
        self, params: Mapping[tuple[str, str], Mapping[str, Any]], query: Sequence[tuple[str, str]]
    ) -> list[str]:
        errors = []
        sent: dict[str, list[str]] = {}
        for name, value in query:
            sent.setdefault(name, []).append(value)
        for name, values in sent.items():
            param = params.get(("query", name))
            if param is None:
                errors.append(f"query parameter {name!r} is not documented")
                continue
            schema = self._resolve(param.get("schema", {}))
            if schema.get("type") == "array":
                items = self._resolve(schema.get("items", {}))
                errors += self._check_value(
                    f"query {name}", schema, [_coerce(v, items) for v in values]
                )
            else:
                # Some documents (PagerDuty's include[]) give the item schema of an
                # exploded array parameter: each value must then match it.
                for value in values:
                    errors += self._check_value(f"query {name}", schema, _coerce(value, schema))
        for (where, name), param in params.items():
            if where == "query" and param.get("required") and name not in sent:
                errors.append(f"required query parameter {name!r} is missing")
        return errors

    def _check_headers(
        self,
        params: Mapping[tuple[str, str], Mapping[str, Any]],
        sent: Mapping[str, str],
        *,
        has_body: bool,
    ) -> list[str]:
        errors = []
        for (where, name), param in params.items():
            if where != "header":
                continue
            if name not in sent:
                # Content-Type describes a body: documents that require it on a GET
                # (PagerDuty's do) cannot mean a bodiless request to carry one.
                if param.get("required") and (name != "content-type" or has_body):
                    errors.append(f"required header {param['name']!r} is missing")
                continue
            schema = self._resolve(param.get("schema", {}))
            if name in ("accept", "content-type") and "enum" not in schema:
                continue  # a media type with parameters; only its presence is documented
            errors += self._check_value(f"header {param['name']}", schema, sent[name])
        return errors

    def _check_security(self, operation: Mapping[str, Any], sent: Mapping[str, str]) -> list[str]:
        requirements = operation.get("security", self.document.get("security", []))
        schemes = self.document.get("components", {}).get("securitySchemes", {})
        if not requirements:
            return []
        for requirement in requirements:
            if all(self._satisfies(schemes[name], sent) for name in requirement):
                return []
        return [f"no documented credential was sent (expected one of {requirements})"]

    @staticmethod
    def _satisfies(scheme: Mapping[str, Any], sent: Mapping[str, str]) -> bool:
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            return bool(sent.get(str(scheme["name"]).lower()))
        if scheme.get("type") == "http":
            prefix = f"{scheme.get('scheme', '')} ".lower()
            return sent.get("authorization", "").lower().startswith(prefix)
        return False

    def _check_body(
        self, method: str, template: str, operation: Mapping[str, Any], body: Any
    ) -> list[str]:
        if "requestBody" not in operation:
            return [] if body is None else ["a body was sent but none is documented"]
        where = f"/paths/{_escape(template)}/{method.lower()}/requestBody"
        where, request_body = self._locate(where, operation["requestBody"])
        if body is None:
            return ["the required body is missing"] if request_body.get("required") else []
        if JSON_MEDIA not in request_body.get("content", {}):
            return [f"no {JSON_MEDIA} body is documented"]
        return self._errors(f"{where}/content/{_escape(JSON_MEDIA)}/schema", body, write=True)
