"""The Kubernetes manifests: both overlays render, every document validates against the JSON
schemas kept in k8s/schemas/, and images, ports, variables, topics and secrets are checked
against the code (issue #9)."""

from __future__ import annotations

import json
import shutil
from typing import Any

import jsonschema
import pytest
import yaml

from shared.kafka import dlq_for, topic_for
from tests.deploy.common import DEFAULT_PORT, REPO, SETTINGS_VARIABLES, units
from tests.deploy.kustomize import render, render_fallback

OVERLAYS = ("dev", "district")
SCHEMAS = {p.stem: json.loads(p.read_text()) for p in (REPO / "k8s" / "schemas").glob("*.json")}
IMAGE = "ghcr.io/gongkai/gongkai"


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(REPO / "k8s" / "overlays" / request.param)


def _by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def test_every_document_validates_against_its_schema(overlay) -> None:  # type: ignore[no-untyped-def]
    _, docs = overlay
    for doc in docs:
        schema = SCHEMAS.get(doc["kind"].lower())
        assert schema is not None, f"no schema in k8s/schemas for {doc['kind']}"
        jsonschema.validate(doc, schema)


def test_schemas_reject_what_they_should() -> None:
    """The schemas are not vacuous: a probe without a path and an inlined secret fail."""
    docs = render_fallback(REPO / "k8s" / "overlays" / "dev")
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    broken = json.loads(json.dumps(deployment))
    del _container(broken)["readinessProbe"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMAS["deployment"])
    topic = next(d for d in docs if d["kind"] == "KafkaTopic")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {**topic, "spec": {**topic["spec"], "partitions": 0}}, SCHEMAS["kafkatopic"]
        )


def test_every_process_of_the_code_has_its_deployment_and_nothing_else(overlay) -> None:  # type: ignore[no-untyped-def]
    _, docs = overlay
    deployments = _by_kind(docs, "Deployment")
    assert {tuple(_container(d)["args"]) for d in deployments.values()} == units()
    services = {service for _, service in units()}
    for kind in ("Service", "ConfigMap", "NetworkPolicy"):
        names = {n.removesuffix("-config") for n in _by_kind(docs, kind)}
        assert names == services, kind
    for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget"):
        assert set(_by_kind(docs, kind)) == set(deployments), kind


def test_image_ports_probes_and_resources(overlay) -> None:  # type: ignore[no-untyped-def]
    name, docs = overlay
    configs = _by_kind(docs, "ConfigMap")
    for deployment in _by_kind(docs, "Deployment").values():
        c = _container(deployment)
        image, tag = c["image"].rsplit(":", 1)
        assert image == IMAGE and tag
        service = c["args"][1]
        listen = int(configs[f"{service}-config"]["data"]["GONGKAI_PORT"])
        assert listen == DEFAULT_PORT
        assert c["ports"] == [{"name": "http", "containerPort": listen}]
        assert c["livenessProbe"]["httpGet"]["path"] == "/health"
        assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
        spec = deployment["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        if name == "district":
            assert deployment["spec"]["replicas"] >= 2


def test_services_select_the_serve_pods_on_the_http_port(overlay) -> None:  # type: ignore[no-untyped-def]
    _, docs = overlay
    deployments = _by_kind(docs, "Deployment")
    for name, service in _by_kind(docs, "Service").items():
        target = deployments[f"{name}-serve"]
        assert (
            service["spec"]["selector"].items()
            <= target["spec"]["template"]["metadata"]["labels"].items()
        )
        assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_variables_are_settings_fields_and_secrets_are_referenced_never_inlined(overlay) -> None:  # type: ignore[no-untyped-def]
    _, docs = overlay
    assert not [d for d in docs if d["kind"] == "Secret"], "secrets are created outside the repo"
    for config in _by_kind(docs, "ConfigMap").values():
        assert set(config["data"]) <= SETTINGS_VARIABLES
        assert not {"GONGKAI_TOKEN_SECRET", "GONGKAI_DATABASE_URL"} & set(config["data"])
    for deployment in _by_kind(docs, "Deployment").values():
        env = {e["name"]: e for e in _container(deployment)["env"]}
        assert {n for n in env if n.startswith("GONGKAI_")} <= SETTINGS_VARIABLES
        assert "secretKeyRef" in env["GONGKAI_TOKEN_SECRET"]["valueFrom"]
        assert "secretKeyRef" in env["DB_PASSWORD"]["valueFrom"]
        # The URL carries the password only through the referenced secret.
        assert "$(DB_PASSWORD)@" in env["GONGKAI_DATABASE_URL"]["value"]


def test_one_topic_per_service_plus_the_dlq_sized_by_overlay(overlay) -> None:  # type: ignore[no-untyped-def]
    name, docs = overlay
    configs = _by_kind(docs, "ConfigMap")
    prefixes = {c["data"]["GONGKAI_TOPIC_PREFIX"] for c in configs.values()}
    assert len(prefixes) == 1
    prefix = prefixes.pop()
    topics = {t["spec"]["topicName"]: t["spec"] for t in _by_kind(docs, "KafkaTopic").values()}
    expected = {topic_for(s, prefix) for _, s in units()} | {dlq_for(prefix)}
    assert set(topics) == expected
    pool = next(iter(_by_kind(docs, "KafkaNodePool").values()))["spec"]
    for topic, spec in topics.items():
        assert spec["replicas"] <= pool["replicas"]
        if name == "district" and topic != dlq_for(prefix):
            assert spec["partitions"] == 12 and spec["replicas"] == 3
    # A worker HPA never scales past its topic's partitions: the surplus would idle.
    for hpa in _by_kind(docs, "HorizontalPodAutoscaler").values():
        target = hpa["spec"]["scaleTargetRef"]["name"]
        if target.endswith("-worker"):
            service = target.removesuffix("-worker")
            assert hpa["spec"]["maxReplicas"] <= topics[topic_for(service, prefix)]["partitions"]


def test_database_has_a_role_and_schema_per_service(overlay) -> None:  # type: ignore[no-untyped-def]
    name, docs = overlay
    (cluster,) = _by_kind(docs, "Cluster").values()
    services = {service for _, service in units()}
    roles = {r["name"] for r in cluster["spec"]["managed"]["roles"]}
    assert roles == {f"svc_{s}" for s in services}
    sql = " ".join(cluster["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"])
    for service in services:
        assert f"CREATE SCHEMA IF NOT EXISTS {service} AUTHORIZATION svc_{service}" in sql
    if name == "district":
        assert cluster["spec"]["instances"] == 3 and "backup" in cluster["spec"]
        assert _by_kind(docs, "ScheduledBackup")


@pytest.mark.skipif(not shutil.which("kubectl"), reason="compares with kubectl kustomize")
@pytest.mark.parametrize("name", OVERLAYS)
def test_fallback_renderer_agrees_with_kubectl_kustomize(name: str) -> None:
    """CI machines without kubectl use the fallback renderer: it must render the same."""
    path = REPO / "k8s" / "overlays" / name

    def keyed(docs: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
        return {(d["kind"], d["metadata"]["name"]): yaml.safe_dump(d, sort_keys=True) for d in docs}

    assert keyed(render_fallback(path)) == keyed(render(path))
