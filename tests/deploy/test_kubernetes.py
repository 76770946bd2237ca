"""The Kubernetes kit: rendered by kustomize, every object validated, and the pieces agreeing.

Built-in kinds are validated with kubernetes-validate's bundled schemas (strict: an
unknown field is an error), offline. ServiceMonitor and PrometheusRule are CRDs it has no
schema for: their structure is checked below against the fields of the Prometheus
Operator's CRDs (monitoring.coreos.com/v1) that pmhub uses, and every alert's PromQL is
parsed and must name only metrics pmhub exports.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import promql_parser
import pytest
import yaml

from hub.metrics import Metrics
from tests.deploy.image import read_image
from tests.deploy.manifests import (
    BASE,
    PRODUCTION_CONFIG,
    PRODUCTION_OVERLAY,
    REPO,
    SECRET_TEMPLATE,
    SITE_ENV,
    Manifest,
    config_variables,
    generated,
    only,
    read_env_file,
    render,
)
from tests.support.metric_names import registry_names

KUBERNETES_VERSION = "1.30"  # the oldest minor still supported upstream when this was written
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}
# The Prometheus Operator's duration pattern (its CRDs' `for`, `interval`, `scrapeTimeout`).
DURATION = re.compile(
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)
POLICIES = REPO / "config" / "policies"


def _server(manifests: list[Manifest]) -> dict[str, Any]:
    pod: dict[str, Any] = only(manifests, "Deployment", "pmhub")["spec"]["template"]["spec"]
    return pod


@pytest.mark.parametrize("folder", [BASE, PRODUCTION_OVERLAY], ids=["base", "production"])
def test_every_built_in_object_is_valid_for_kubernetes(folder: Path) -> None:
    manifests = render(folder)
    kinds = {m["kind"] for m in manifests}
    assert kinds >= CRD_KINDS
    for manifest in [*manifests, *yaml.safe_load_all(SECRET_TEMPLATE.read_text())]:
        if manifest["kind"] in CRD_KINDS:
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
            continue
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_the_production_overlay_has_every_part() -> None:
    kinds = sorted(m["kind"] for m in render())
    assert kinds == sorted(
        [
            "Namespace",
            "ServiceAccount",
            "ConfigMap",  # pmhub.yaml
            "ConfigMap",  # the policies
            "ConfigMap",  # the site's ids
            "Service",  # webhooks
            "Service",  # admin
            "Deployment",
            "PodDisruptionBudget",
            "Job",
            "NetworkPolicy",
            "ServiceMonitor",
            "PrometheusRule",
        ]
    )
    assert {m["metadata"].get("namespace") for m in render() if m["kind"] != "Namespace"} == {
        "pmhub"
    }


def test_two_replicas_roll_one_at_a_time_behind_a_disruption_budget() -> None:
    manifests = render()
    deployment = only(manifests, "Deployment", "pmhub")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    budget = only(manifests, "PodDisruptionBudget")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_probes_use_the_admin_listener_of_the_image() -> None:
    image = read_image()
    [container] = _server(render())["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {
        "webhooks": int(image.env["PMHUB_PORT"]),
        "admin": int(image.env["PMHUB_ADMIN_PORT"]),
    }
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    # The image's own command runs: `pmhub serve`.
    assert "command" not in container
    assert "args" not in container


def test_the_pods_run_locked_down_as_the_images_user() -> None:
    uid, _, gid = read_image().user.partition(":")
    for pod in (_server(render()), only(render(), "Job")["spec"]["template"]["spec"]):
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        [container] = pod["containers"]
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True
        assert (context["runAsUser"], context["runAsGroup"]) == (int(uid), int(gid))
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        # A read-only root: /tmp is an emptyDir.
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]
        resources = container["resources"]
        assert {"cpu", "memory"} <= resources["requests"].keys()
        assert "memory" in resources["limits"]


def test_the_configmaps_carry_the_shipped_files() -> None:
    manifests = render()
    config = generated(manifests, "ConfigMap", "pmhub-config")
    assert config["data"] == {"pmhub.yaml": PRODUCTION_CONFIG.read_text()}
    policies = generated(manifests, "ConfigMap", "pmhub-policies")
    assert policies["data"] == {path.name: path.read_text() for path in POLICIES.glob("*.yaml")}


def test_the_copies_kustomize_needs_equal_their_sources() -> None:
    # kustomize reads no file outside the kustomization's folder: the base keeps copies.
    # `make kustomize-config` refreshes them.
    copies = {BASE / "config" / "pmhub.yaml": PRODUCTION_CONFIG}
    copies |= {BASE / "config" / "policies" / p.name: p for p in POLICIES.glob("*.yaml")}
    assert sorted((BASE / "config" / "policies").glob("*.yaml")) == sorted(
        path for path in copies if path.parent.name == "policies"
    )
    stale = [
        str(copy.relative_to(REPO))
        for copy, source in copies.items()
        if copy.read_bytes() != source.read_bytes()
    ]
    assert stale == [], "run `make kustomize-config`"


def test_the_configuration_finds_its_files_where_the_pod_mounts_them() -> None:
    pod = _server(render())
    [container] = pod["containers"]
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    config_path = Path(read_image().env["PMHUB_CONFIG"])
    config_volume = volumes[mounts[str(config_path.parent)]]
    assert config_volume["configMap"]["name"].startswith("pmhub-config-")
    settings = yaml.safe_load(PRODUCTION_CONFIG.read_text())
    for policy in settings["policies"]:
        folder = str(config_path.parent / Path(policy).parent)
        assert volumes[mounts[folder]]["configMap"]["name"].startswith("pmhub-policies-")
    # The Google key file the configuration reads is where its Secret is mounted.
    env = {item["name"]: item["value"] for item in container["env"]}
    key_file = Path(env["GOOGLE_CREDENTIALS_FILE"])
    secret = volumes[mounts[str(key_file.parent)]]["secret"]
    assert [item["path"] for item in secret["items"]] == [key_file.name]


def test_every_variable_the_configuration_needs_is_set_by_the_manifests() -> None:
    manifests = render()
    [container] = _server(manifests)["containers"]
    secret_keys = {
        key
        for secret in yaml.safe_load_all(SECRET_TEMPLATE.read_text())
        if secret["metadata"]["name"] == "pmhub-secrets"
        for key in secret["stringData"]
    }
    site = generated(manifests, "ConfigMap", "pmhub-site")
    assert site["data"] == read_env_file(SITE_ENV)
    assert [
        source.get("secretRef", source.get("configMapRef"))["name"]
        for source in container["envFrom"]
    ] == [
        "pmhub-secrets",
        site["metadata"]["name"],
    ]
    provided = secret_keys | site["data"].keys() | {item["name"] for item in container["env"]}
    required, optional = config_variables()
    assert required - provided == set(), (
        "the configuration needs these, the manifests do not set them"
    )
    assert provided - required - optional == set(), "set but never read"
    # Secrets stay in the Secret; the site's ConfigMap holds none.
    assert not any("SECRET" in key or "TOKEN" in key or "KEY" in key for key in site["data"])


def test_the_migration_job_runs_pmhub_migrate_with_the_servers_configuration() -> None:
    manifests = render()
    [server] = _server(manifests)["containers"]
    job = only(manifests, "Job", "pmhub-migrate")
    pod = job["spec"]["template"]["spec"]
    [migrate] = pod["containers"]
    assert migrate["args"] == ["migrate"]
    assert migrate["image"] == server["image"]
    assert pod["restartPolicy"] == "Never"
    assert migrate["envFrom"] == server["envFrom"]
    assert migrate["env"] == server["env"]
    assert migrate["volumeMounts"] == server["volumeMounts"]
    server_volumes = {
        v["name"]: {k: v[k] for k in v if k != "emptyDir"} for v in _server(manifests)["volumes"]
    }
    job_volumes = {v["name"]: {k: v[k] for k in v if k != "emptyDir"} for v in pod["volumes"]}
    assert job_volumes == server_volumes


def test_webhooks_and_admin_have_services_of_their_own() -> None:
    manifests = render()
    pod_labels = only(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    webhooks = only(manifests, "Service", "pmhub-webhooks")["spec"]
    admin = only(manifests, "Service", "pmhub-admin")["spec"]
    assert [p["targetPort"] for p in webhooks["ports"]] == ["webhooks"]
    assert [p["targetPort"] for p in admin["ports"]] == ["admin"]
    for spec in (webhooks, admin):
        assert spec["selector"].items() <= pod_labels.items()
        assert spec.get("type", "ClusterIP") == "ClusterIP"


def test_the_network_policy_lets_only_monitoring_reach_the_admin_listener() -> None:
    image = read_image()
    policy = only(render(), "NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "pmhub"}
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    by_port = {rule["ports"][0]["port"]: rule for rule in policy["ingress"]}
    assert by_port.keys() == {int(image.env["PMHUB_PORT"]), int(image.env["PMHUB_ADMIN_PORT"])}
    assert "from" not in by_port[int(image.env["PMHUB_PORT"])]  # vendors, via the ingress
    assert by_port[int(image.env["PMHUB_ADMIN_PORT"])]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    egress_ports = sorted(port["port"] for rule in policy["egress"] for port in rule["ports"])
    assert egress_ports == [53, 53, 443, 5432]


# -- the CRDs: structure as the Prometheus Operator's schemas define it ----------------


def test_the_service_monitor_scrapes_the_admin_service() -> None:
    manifests = render()
    monitor = only(manifests, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(monitor["spec"]) == {"selector", "endpoints"}
    admin = only(manifests, "Service", "pmhub-admin")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= admin["metadata"]["labels"].items()
    webhooks = only(manifests, "Service", "pmhub-webhooks")
    assert (
        not monitor["spec"]["selector"]["matchLabels"].items()
        <= webhooks["metadata"]["labels"].items()
    )
    [endpoint] = monitor["spec"]["endpoints"]
    assert set(endpoint) <= {"port", "path", "interval", "scrapeTimeout"}
    assert endpoint["port"] in {port["name"] for port in admin["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert DURATION.match(endpoint["interval"])
    assert DURATION.match(endpoint["scrapeTimeout"])


def _selectors(node: object) -> Iterator[Any]:
    """Every vector selector in a parsed PromQL expression."""
    if isinstance(node, promql_parser.VectorSelector):
        yield node
        return
    for name in ("expr", "lhs", "rhs", "vector_selector", "param"):
        child = getattr(node, name, None)
        if child is not None:
            yield from _selectors(child)
    for arg in getattr(node, "args", None) or ():
        yield from _selectors(arg)


def test_the_alerts_are_well_formed_and_name_real_metrics() -> None:
    manifests = render()
    rule = only(manifests, "PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    [group] = rule["spec"]["groups"]
    assert set(group) <= {"name", "interval", "rules"}
    assert group["name"]
    exported = registry_names(Metrics().registry)  # with sample names: x_total, x_bucket, …
    alerts = {}
    for alert in group["rules"]:
        assert set(alert) <= {"alert", "expr", "for", "labels", "annotations"}, alert
        assert DURATION.match(alert["for"])
        assert all(
            isinstance(v, str) for v in (*alert["labels"].values(), *alert["annotations"].values())
        )
        assert alert["labels"]["severity"] in {"warning", "critical"}
        parsed = promql_parser.parse(alert["expr"])
        names = {selector.name for selector in _selectors(parsed)}
        assert names, alert["expr"]
        unknown = {name for name in names if name.startswith("pmhub_") and name not in exported}
        assert unknown == set(), f"{alert['alert']} reads metrics pmhub does not export: {unknown}"
        alerts[alert["alert"]] = names
    # The README's alerts, and readiness.
    assert "pmhub_dead_jobs" in alerts["PmhubDeadJobs"]
    assert "pmhub_oldest_pending_job_age_seconds" in alerts["PmhubQueueStalled"]
    assert "kube_deployment_status_replicas_ready" in alerts["PmhubNotReady"]
    # The process's alerts (issue 15).
    assert "pmhub_postmortems_overdue" in alerts["PmhubPostmortemsOverdue"]
    assert "pmhub_follow_ups" in alerts["PmhubFollowUpsOverdue"]
    assert alerts["PmhubConnectorFailing"] == {
        "pmhub_effect_failures_total",
        "pmhub_dead_effect_jobs",
    }
    # The alerts' `job` is the admin Service the ServiceMonitor scrapes.
    assert all(
        'job="pmhub-admin"' in rule["expr"]
        for rule in group["rules"]
        if "pmhub_" in rule["expr"] or "up{" in rule["expr"]
    )
