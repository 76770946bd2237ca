"""The container image, read from its Dockerfile with Docker's own parser, and run without Docker.

There is no Docker daemon where the tests run, so the image's contract is checked by
emulation: the final stage's COPY instructions lay out a root folder (the repository's
files where the image takes them from the build context, this test environment's
virtualenv where it copies the build stage's virtualenv), ENV is evaluated as Docker
does, and ENTRYPOINT + CMD start as a local process in the WORKDIR, with the image's
environment and nothing else. Every absolute image path in that environment is mapped
into the root folder.
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dockerfile

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "docker" / "Dockerfile"
# The base image's own environment (python:3.12-slim sets PATH; Docker's default otherwise).
BASE_ENV = {"PATH": "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"}
# What the build stage produces, by the path the final stage copies it from: the build
# stage installs pmhub into a virtualenv there, as this test environment's is.
BUILD_ARTEFACTS = {("build", "/opt/pmhub"): Path(sys.prefix)}
_VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)
# "#   PMHUB_PORT    what it is": a runtime variable documented in the header comment.
_DOCUMENTED = re.compile(r"^#\s+(?P<name>PMHUB_[A-Z_]+)\s{2,}\S", re.MULTILINE)


@dataclass
class Image:
    env: dict[str, str] = field(default_factory=dict)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    workdir: str = "/"
    user: str = "root"
    volumes: list[str] = field(default_factory=list)
    exposed: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    healthcheck_flags: tuple[str, ...] = ()
    copies: list[tuple[str | None, list[str], str]] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    documented: list[str] = field(default_factory=list)

    @property
    def command(self) -> list[str]:
        return [*self.entrypoint, *self.cmd]


def _expand(value: str, env: dict[str, str]) -> str:
    return _VARIABLE.sub(lambda m: env.get(m["braced"] or m["plain"], ""), value)


def _exec_form(command: Any) -> list[str]:
    if not command.json:
        raise AssertionError(
            f"line {command.start_line}: use the exec (JSON) form: {command.original}"
        )
    return list(command.value)


def read_image(path: Path = DOCKERFILE) -> Image:
    """The final stage of the Dockerfile, as the image it builds would carry it."""
    commands = dockerfile.parse_file(str(path))
    last_from = max(i for i, c in enumerate(commands) if c.cmd == "FROM")
    image = Image(env=dict(BASE_ENV))
    image.documented = _DOCUMENTED.findall(path.read_text())
    for command in commands[last_from + 1 :]:
        kind, value = command.cmd, command.value
        if kind == "ENV":
            pairs = zip(value[::2], value[1::2], strict=True)
            for name, raw in pairs:
                image.env[name] = _expand(raw, image.env)
        elif kind == "ENTRYPOINT":
            image.entrypoint = _exec_form(command)
            image.cmd = []  # as Docker does: a new ENTRYPOINT resets an inherited CMD
        elif kind == "CMD":
            image.cmd = _exec_form(command)
        elif kind == "WORKDIR":
            image.workdir = value[0]
        elif kind == "USER":
            image.user = value[0]
        elif kind == "VOLUME":
            image.volumes.extend(value)
        elif kind == "EXPOSE":
            image.exposed.extend(value)
        elif kind == "HEALTHCHECK":
            assert value[0] == "CMD", command.original
            image.healthcheck = list(value[1:]) if command.json else ["/bin/sh", "-c", value[1]]
            image.healthcheck_flags = command.flags
        elif kind == "COPY":
            stage = next(
                (f.split("=", 1)[1] for f in command.flags if f.startswith("--from=")), None
            )
            image.copies.append((stage, list(value[:-1]), value[-1]))
        elif kind == "RUN":
            image.runs.append(value[0])
    return image


def lay_out_root(image: Image, root: Path) -> None:
    """The image's files under `root`: what COPY brings in, and the WORKDIR and volumes."""
    for stage, sources, destination in image.copies:
        target = root / destination.lstrip("/")
        if stage is not None:
            [source] = sources
            built = BUILD_ARTEFACTS.get((stage, source))
            assert built is not None, f"unknown build artefact {stage}:{source}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(built, target_is_directory=True)
            continue
        for source in sources:
            origin = REPO / source
            if origin.is_dir():
                shutil.copytree(origin, target, dirs_exist_ok=True)
            else:
                into = target / origin.name if destination.endswith("/") else target
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, into)
    for folder in (image.workdir, *image.volumes):
        (root / folder.lstrip("/")).mkdir(parents=True, exist_ok=True)


def localize(value: str, root: Path) -> str:
    """An environment value with each absolute image path moved under `root`.

    Only paths the image has (its top-level folders under `root`) move: a PATH entry
    such as /usr/bin stays the host's.
    """
    tops = {entry.name for entry in root.iterdir()}

    def move(part: str) -> str:
        head = part.lstrip("/").split("/", 1)[0]
        return str(root / part.lstrip("/")) if part.startswith("/") and head in tops else part

    return ":".join(move(part) for part in value.split(":"))


def resolve(program: str, env: dict[str, str]) -> str:
    """The executable the image's PATH finds for `program`."""
    found = shutil.which(program, path=env["PATH"])
    assert found is not None, f"{program} is not on the image's PATH {env['PATH']}"
    return found
