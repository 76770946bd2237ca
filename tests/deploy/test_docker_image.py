"""The container image: hadolint-clean, non-root, and serving with its documented environment only.

No Docker daemon here: `tests/deploy/image.py` reads the Dockerfile with Docker's own
parser and starts the image's ENTRYPOINT + CMD as a local process, in a folder standing
for the image's root, with the ENV lines and the documented runtime variables and nothing
else from this machine's environment.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.deploy.image import DOCKERFILE, REPO, Image, lay_out_root, localize, read_image, resolve

BIN = Path(sys.executable).parent
CONTAINER_CONFIG = REPO / "deploy" / "docker" / "pmhub.yaml"
DEPLOY_DOC = REPO / "docs" / "deploy.md"
START_TIMEOUT = 60


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [str(BIN / "hadolint"), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_image_runs_as_a_numeric_non_root_user_with_its_state_in_a_volume() -> None:
    image = read_image()
    uid, _, gid = image.user.partition(":")
    assert (uid.isdigit(), gid.isdigit()) == (True, True), f"USER {image.user}: numeric please"
    assert int(uid) > 0
    assert int(gid) > 0
    # The user the image creates has that id, and owns the volume it writes to.
    assert any(f"--uid {uid}" in run and f"--gid {gid}" in run for run in image.runs)
    assert any(
        f"install -d -o {uid} -g {gid}" in run and "/var/lib/pmhub" in run for run in image.runs
    )
    assert image.volumes == ["/var/lib/pmhub"]
    assert image.workdir == "/var/lib/pmhub"
    assert image.command == ["pmhub", "serve"]
    assert sorted(image.exposed) == [image.env["PMHUB_PORT"], image.env["PMHUB_ADMIN_PORT"]]


def test_every_variable_the_container_config_reads_is_documented() -> None:
    image = read_image()
    read = set(re.findall(r"\$\{([A-Z_]+)", CONTAINER_CONFIG.read_text()))
    documented = set(image.documented)
    assert read <= documented, f"undocumented in the Dockerfile: {read - documented}"
    doc = DEPLOY_DOC.read_text()
    assert [name for name in sorted(documented) if f"`{name}`" not in doc] == []


@dataclass
class Container:
    process: asyncio.subprocess.Process
    listening: dict[str, str]
    env: dict[str, str]
    cwd: Path
    log: list[str]

    def port(self, listener: str) -> int:
        return int(self.listening[listener].rsplit(":", 1)[1])


def container_env(image: Image, root: Path, runtime: dict[str, str]) -> dict[str, str]:
    """The image's ENV (paths mapped into `root`) plus documented runtime variables only."""
    undocumented = set(runtime) - set(image.documented)
    assert not undocumented, f"not documented in the Dockerfile: {undocumented}"
    return {name: localize(value, root) for name, value in {**image.env, **runtime}.items()}


@asynccontextmanager
async def running_container(tmp_path: Path, runtime: dict[str, str]) -> AsyncIterator[Container]:
    image = read_image()
    root = tmp_path / "root"
    lay_out_root(image, root)
    env = container_env(image, root, runtime)
    cwd = Path(localize(image.workdir, root))
    program, *args = image.command
    process = await asyncio.create_subprocess_exec(
        resolve(program, env),
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    log: list[str] = []
    try:
        listening = await _wait_listening(process, log)
        yield Container(process, listening, env, cwd, log)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), START_TIMEOUT) == 0, "\n".join(log)


async def _wait_listening(process: asyncio.subprocess.Process, log: list[str]) -> dict[str, str]:
    """The addresses from the `pmhub.listening` line (JSON: stderr is not a terminal)."""
    assert process.stderr is not None
    async with asyncio.timeout(START_TIMEOUT):
        while line := await process.stderr.readline():
            log.append(line.decode(errors="replace").rstrip())
            record = json.loads(line)
            if record.get("event") == "pmhub.listening":
                return {"public": record["public"], "admin": record["admin"]}
    raise AssertionError("pmhub exited before listening:\n" + "\n".join(log))


async def _get(url: str, **headers: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, await response.json()


@pytest.mark.slow
async def test_the_image_serves_with_its_documented_environment_and_no_admin_token(
    tmp_path: Path,
) -> None:
    # Ports 0 stand for `docker run -p`: the test cannot own 8080 on a shared machine.
    runtime = {"PMHUB_PORT": "0", "PMHUB_ADMIN_PORT": "0"}
    async with running_container(tmp_path, runtime) as container:
        # Both listeners on every interface, as a container's must be.
        assert container.listening["public"].startswith("0.0.0.0:")
        assert container.listening["admin"].startswith("0.0.0.0:")
        public = f"http://127.0.0.1:{container.port('public')}"
        admin = f"http://127.0.0.1:{container.port('admin')}"
        assert (await _get(f"{public}/healthz"))[0] == 200
        assert (await _get(f"{public}/readyz"))[0] == 404  # the admin listener's
        status, ready = await _get(f"{admin}/readyz")
        assert (status, ready["status"]) == (200, "ready"), ready
        # No token given: the admin API is off, whatever a caller sends.
        status, body = await _get(f"{admin}/api/v1/jobs", Authorization="Bearer " + "x" * 32)
        assert (status, body["error"]) == (
            403,
            {"code": "admin_disabled", "message": "the admin API is disabled: set admin.token"},
        )
        # SQLite, in the working directory: the volume.
        assert (container.cwd / "pmhub.db").is_file()
        # The image's HEALTHCHECK command passes against it (Docker would see the real
        # port in PMHUB_ADMIN_PORT, not the 0 that stands for its mapping here).
        healthcheck = await asyncio.create_subprocess_exec(
            resolve(read_image().healthcheck[0], container.env),
            *read_image().healthcheck[1:],
            env={**container.env, "PMHUB_ADMIN_PORT": str(container.port("admin"))},
        )
        assert await healthcheck.wait() == 0


@pytest.mark.slow
async def test_the_admin_api_is_on_when_the_token_is_given(tmp_path: Path) -> None:
    token = "a-container-admin-token-0123456789"
    runtime = {"PMHUB_PORT": "0", "PMHUB_ADMIN_PORT": "0", "PMHUB_ADMIN_TOKEN": token}
    async with running_container(tmp_path, runtime) as container:
        admin = f"http://127.0.0.1:{container.port('admin')}"
        status, body = await _get(f"{admin}/api/v1/jobs", Authorization=f"Bearer {token}")
        # A fresh store holds only the timers pmhub keeps queued for itself (retention).
        assert status == 200
        jobs = body["jobs"]
        assert isinstance(jobs, list)
        assert [(job["kind"], job["state"]) for job in jobs] == [("retention", "pending")]
        # The token is a secret: it never reaches the log.
        assert not [line for line in container.log if token in line]
