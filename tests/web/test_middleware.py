"""The request middleware: a request id on every answer, failures as JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hub.metrics import Metrics
from hub.web.middleware import request_context_middleware


async def _ok(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _broken(request: web.Request) -> web.Response:
    raise RuntimeError("a bug")


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application(middlewares=[request_context_middleware(Metrics())])
    app.router.add_get("/ok", _ok)
    app.router.add_get("/broken", _broken)
    async with TestClient(TestServer(app)) as made:
        yield made


async def test_every_answer_has_its_own_request_id(
    client: TestClient[web.Request, web.Application],
) -> None:
    ids = set()
    for _ in range(3):  # one keep-alive connection, several requests
        response = await client.get("/ok")
        assert response.status == 200
        ids.add(response.headers["X-Request-Id"])
    assert len(ids) == 3
    assert all(len(request_id) == 24 for request_id in ids)


async def test_a_callers_request_id_is_kept_unless_unusable(
    client: TestClient[web.Request, web.Application],
) -> None:
    kept = await client.get("/ok", headers={"X-Request-Id": "vendor-trace-1"})
    assert kept.headers["X-Request-Id"] == "vendor-trace-1"
    replaced = await client.get("/ok", headers={"X-Request-Id": "x" * 500})
    assert replaced.headers["X-Request-Id"] != "x" * 500


async def test_an_unhandled_error_is_a_json_500_with_the_request_id(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/broken")
    assert response.status == 500
    assert (await response.json())["error"]["code"] == "internal_error"
    assert response.headers["X-Request-Id"]
