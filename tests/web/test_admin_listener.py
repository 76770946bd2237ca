"""`server.admin_port`: the admin routes on a listener of their own, the webhooks alone on
the public one. Over real HTTP, on the sockets `pmhub serve` binds."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from hub.app import create_app
from hub.config import ConfigError, load_settings, settings_from_text
from hub.web.listeners import bind_listeners
from tests.support.daemon import ADMIN_TOKEN, write_config
from tests.support.signing import pagerduty_delivery

BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass(frozen=True)
class Served:
    public: str
    admin: str | None
    http: aiohttp.ClientSession


@asynccontextmanager
async def serving(config: Path) -> AsyncIterator[Served]:
    """The daemon as `pmhub serve` runs it: listeners bound first, one app on both."""
    settings = load_settings(config)
    listeners = bind_listeners(settings.server)
    app = create_app(settings, admin_port=listeners.admin_port)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        for sock in listeners.sockets:
            await web.SockSite(runner, sock).start()
        shown = listeners.describe()
        admin = f"http://{shown['admin']}" if "admin" in shown else None
        async with aiohttp.ClientSession() as http:
            yield Served(f"http://{shown['public']}", admin, http)
    finally:
        await runner.cleanup()
        listeners.close()


def _config(tmp_path: Path, db_url: str, server_extra: str) -> Path:
    config = write_config(tmp_path, db_url)
    text = config.read_text().replace("  port: 0\n", f"  port: 0\n{server_extra}", 1)
    config.write_text(text)
    return config


async def _status(http: aiohttp.ClientSession, method: str, url: str, **kw: object) -> int:
    async with http.request(method, url, **kw) as response:  # type: ignore[arg-type]
        if response.status == 404:
            # The public listener's 404 for an admin route is the one of an unknown path.
            assert await response.json() == {"error": {"code": "not_found", "message": "Not Found"}}
        return response.status


async def test_admin_routes_answer_only_on_the_admin_listener(tmp_path: Path, db_url: str) -> None:
    config = _config(tmp_path, db_url, "  admin_host: 127.0.0.1\n  admin_port: 0\n")
    async with serving(config) as served:
        assert served.admin is not None
        http, public, admin = served.http, served.public, served.admin
        body, headers = pagerduty_delivery()

        # The public listener: webhooks and liveness, nothing else.
        assert (
            await _status(http, "POST", f"{public}/webhooks/pagerduty", data=body, headers=headers)
            == 202
        )
        assert await _status(http, "GET", f"{public}/healthz") == 200
        for path in ("/readyz", "/metrics", "/api/v1/jobs", "/api/v1/openapi.json", "/api/v1"):
            assert await _status(http, "GET", f"{public}{path}", headers=BEARER) == 404, path
        assert await _status(http, "POST", f"{public}/api/v1/jobs/1/retry", headers=BEARER) == 404

        # The admin listener: probes, metrics and the admin API (still behind its token).
        assert await _status(http, "GET", f"{admin}/healthz") == 200
        assert await _status(http, "GET", f"{admin}/readyz") == 200
        assert await _status(http, "GET", f"{admin}/metrics") == 200
        assert await _status(http, "GET", f"{admin}/api/v1/openapi.json") == 200
        assert await _status(http, "GET", f"{admin}/api/v1/jobs") == 401
        async with http.get(f"{admin}/api/v1/jobs?kind=ingest", headers=BEARER) as response:
            assert response.status == 200
            jobs = (await response.json())["jobs"]
        assert [job["kind"] for job in jobs] == ["ingest"]  # the delivery sent to the public port
        assert (
            await _status(http, "POST", f"{admin}/webhooks/pagerduty", data=body, headers=headers)
            == 404
        )


async def test_without_an_admin_port_one_listener_serves_everything(
    tmp_path: Path, db_url: str
) -> None:
    async with serving(_config(tmp_path, db_url, "")) as served:
        assert served.admin is None
        http, public = served.http, served.public
        for path in ("/healthz", "/readyz", "/metrics", "/api/v1/jobs"):
            assert await _status(http, "GET", f"{public}{path}", headers=BEARER) == 200, path


def test_the_admin_port_must_differ_from_the_port(tmp_path: Path) -> None:
    text = "server:\n  port: 8080\n  admin_port: 8080\n"
    with pytest.raises(ConfigError) as caught:
        settings_from_text(text, path=tmp_path / "pmhub.yaml", env={})
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path / 'pmhub.yaml'}:3:15: server.admin_port: must differ from port (8080)"
    ]


def test_an_admin_host_without_an_admin_port_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_text("server:\n  admin_host: 127.0.0.1\n", path=tmp_path / "p.yaml", env={})
    [problem] = caught.value.problems
    assert problem.message == "server.admin_host: needs admin_port (there is no admin listener)"


def test_a_taken_admin_port_releases_the_public_one(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        public = probe.getsockname()[1]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        text = f"server:\n  host: 127.0.0.1\n  port: {public}\n  admin_port: {busy}\n"
        settings = settings_from_text(text, path=tmp_path / "pmhub.yaml", env={})
        with pytest.raises(OSError, match="in use"):
            bind_listeners(settings.server)
    # The public port was let go: a listener still holding it would make this fail.
    alone = settings_from_text(f"server:\n  port: {public}\n", path=tmp_path / "p.yaml", env={})
    bind_listeners(alone.server).close()
