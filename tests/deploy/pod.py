"""A pod of the rendered Deployment, run as a local process: its environment and its files.

Builds on `image.py`: the image's root folder, then the Deployment's volumes mounted into
it (ConfigMaps from the render, Secrets from the test, emptyDirs), and the container's
environment: the image's ENV, the container's `env`, and its `envFrom` (ConfigMaps from
the render; Secrets, which are not in the kit, from the test, with exactly the keys of
deploy/kubernetes/secret.template.yaml). Whatever else the test changes is passed as
`overrides` and named by the caller: test values that stand for what a cluster gives a
pod (its own network namespace, the vendors' real addresses, a trust store).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.image import lay_out_root, localize, read_image, resolve
from tests.deploy.manifests import SECRET_TEMPLATE, Manifest, only


@dataclass(frozen=True)
class Pod:
    command: list[str]
    env: dict[str, str]
    root: Path


def secret_keys() -> dict[str, set[str]]:
    """Each Secret the kit expects (by name) and its keys, from the template."""
    return {
        secret["metadata"]["name"]: set(secret["stringData"])
        for secret in yaml.safe_load_all(SECRET_TEMPLATE.read_text())
    }


def lay_out_pod(
    manifests: list[Manifest],
    root: Path,
    secrets: dict[str, dict[str, str]],
    overrides: dict[str, str],
    workload: tuple[str, str] = ("Deployment", "pmhub"),
) -> Pod:
    """A pod of `workload` (kind, name): the Deployment's, or the migration Job's."""
    assert {name: set(data) for name, data in secrets.items()} == secret_keys()
    image = read_image()
    lay_out_root(image, root)
    pod = only(manifests, *workload)["spec"]["template"]["spec"]
    [container] = pod["containers"]
    config_maps = {m["metadata"]["name"]: m["data"] for m in manifests if m["kind"] == "ConfigMap"}
    _mount(pod, container, root, config_maps, secrets)
    env = dict(image.env)
    for source in container.get("envFrom", []):
        if "secretRef" in source:
            env |= secrets[source["secretRef"]["name"]]
        else:
            env |= config_maps[source["configMapRef"]["name"]]
    env |= {item["name"]: item["value"] for item in container.get("env", [])}
    command = [
        *(container.get("command") or image.entrypoint),
        *(container.get("args") or image.cmd),
    ]
    # The pod's own paths move under `root`; the overrides are this machine's already.
    local = {name: localize(value, root) for name, value in env.items()} | overrides
    return Pod([resolve(command[0], local), *command[1:]], local, root)


def _mount(
    pod: dict[str, Any],
    container: dict[str, Any],
    root: Path,
    config_maps: dict[str, dict[str, str]],
    secrets: dict[str, dict[str, str]],
) -> None:
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    # Outer mounts first: /etc/pmhub, then /etc/pmhub/policies inside it.
    for mount in sorted(container["volumeMounts"], key=lambda m: len(m["mountPath"])):
        target = root / mount["mountPath"].lstrip("/")
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            shutil.rmtree(target)  # a mount hides what the image had there
        target.mkdir(parents=True)
        volume = volumes[mount["name"]]
        if "configMap" in volume:
            files = config_maps[volume["configMap"]["name"]]
        elif "secret" in volume:
            files = secrets[volume["secret"]["secretName"]]
        else:
            assert "emptyDir" in volume, volume
            continue
        items = volume.get("configMap", volume.get("secret", {})).get("items")
        paths = {item["key"]: item["path"] for item in items} if items else {k: k for k in files}
        for key, path in paths.items():
            (target / path).write_text(files[key])
