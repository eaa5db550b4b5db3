"""The kustomize base: per service ConfigMap, Service, Deployments, HPAs, PDBs and a
NetworkPolicy; Strimzi Kafka, node pool and topics; the CloudNativePG cluster."""

from __future__ import annotations

from typing import Any

from k8s.common import (
    DB_CLUSTER,
    IMAGE,
    KAFKA_CLUSTER,
    PART_OF,
    PARTITIONS,
    PORT,
    TOPIC_PREFIX,
    db_role,
    dump,
    labels,
    service_urls,
    services,
    units,
    version,
)
from shared.kafka import topic_config


def container_env(service: str) -> list[dict[str, Any]]:
    urls = service_urls(service, lambda callee: f"http://{callee}")  # each Service, port 80
    calls = [{"name": "GONGKAI_SERVICE_URLS", "value": urls}] if urls else []
    return [
        *calls,
        {
            "name": "DB_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": f"gongkai-db-{service}", "key": "password"}},
        },
        {
            "name": "GONGKAI_DATABASE_URL",
            "value": f"postgresql://{db_role(service)}:$(DB_PASSWORD)@{DB_CLUSTER}-rw:5432/gongkai",
        },
        {
            "name": "GONGKAI_TOKEN_SECRET",
            "valueFrom": {"secretKeyRef": {"name": "gongkai-token", "key": "secret"}},
        },
    ]


def deployment(service: str, role: str) -> dict[str, Any]:
    name = f"{service}-{role}"
    probe = {"httpGet": {"path": "/health", "port": "http"}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels(service, role)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels(service, role)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {"labels": labels(service, role)},
                "spec": {
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
                    "terminationGracePeriodSeconds": 30,
                    "containers": [
                        {
                            "name": "gongkai",
                            "image": f"{IMAGE}:{version()}",
                            "args": [role, service],
                            "ports": [{"name": "http", "containerPort": PORT}],
                            "envFrom": [{"configMapRef": {"name": f"{service}-config"}}],
                            "env": container_env(service),
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "256Mi"},
                                "limits": {"memory": "512Mi"},
                            },
                            "startupProbe": {**probe, "periodSeconds": 2, "failureThreshold": 60},
                            "livenessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 3},
                            "readinessProbe": {
                                "httpGet": {"path": "/ready", "port": "http"},
                                "periodSeconds": 5,
                                "failureThreshold": 2,
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


def service_manifests(service: str, roles: list[str]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{service}-config", "labels": labels(service)},
            "data": {
                "GONGKAI_KAFKA_BOOTSTRAP": f"{KAFKA_CLUSTER}-kafka-bootstrap:9092",
                "GONGKAI_TOPIC_PREFIX": TOPIC_PREFIX,
                "GONGKAI_HOST": "0.0.0.0",
                "GONGKAI_PORT": str(PORT),
                "GONGKAI_LOG_FORMAT": "json",
                "GONGKAI_LOG_LEVEL": "info",
                "GONGKAI_VAR_DIR": "/tmp/gongkai",
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": service, "labels": labels(service, "serve")},
            "spec": {
                "selector": labels(service, "serve"),
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            },
        },
    ]
    for role in roles:
        name = f"{service}-{role}"
        docs.append(deployment(service, role))
        docs.append(
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": name, "labels": labels(service, role)},
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                    "minReplicas": 1,
                    # Workers beyond the topic's partitions would idle.
                    "maxReplicas": 3 if role == "worker" else 4,
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {"type": "Utilization", "averageUtilization": 70},
                            },
                        }
                    ],
                },
            }
        )
        docs.append(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": name, "labels": labels(service, role)},
                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels(service, role)}},
            }
        )
    docs.append(network_policy(service))
    return docs


def network_policy(service: str) -> dict[str, Any]:
    """In: HTTP from the suite's pods and the ingress controller. Out: Kafka, PostgreSQL, DNS."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": service, "labels": labels(service)},
        "spec": {
            "podSelector": {"matchLabels": labels(service)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": PART_OF}}},
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                            }
                        },
                    ],
                    "ports": [{"protocol": "TCP", "port": PORT}],
                }
            ],
            "egress": [
                {
                    "to": [{"podSelector": {"matchLabels": {"strimzi.io/cluster": KAFKA_CLUSTER}}}],
                    "ports": [{"protocol": "TCP", "port": 9092}],
                },
                {
                    "to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": DB_CLUSTER}}}],
                    "ports": [{"protocol": "TCP", "port": 5432}],
                },
                {
                    "to": [
                        {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": PART_OF}}}
                    ],
                    "ports": [{"protocol": "TCP", "port": PORT}],
                },
                {
                    "to": [{"namespaceSelector": {}}],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                },
            ],
        },
    }


def topic(name: str, partitions: int, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaTopic",
        "metadata": {
            "name": name.replace(".", "-"),
            "labels": {"strimzi.io/cluster": KAFKA_CLUSTER},
        },
        "spec": {
            "topicName": name,
            "partitions": partitions,
            "replicas": replicas,
            # The store is the source of truth; an event topic keeps a week for catch-up.
            # Reference topics every process reads whole (calendars) are compacted instead.
            "config": topic_config(name) or {"retention.ms": 604800000, "cleanup.policy": "delete"},
        },
    }


def kafka_manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaNodePool",
            "metadata": {"name": "dual-role", "labels": {"strimzi.io/cluster": KAFKA_CLUSTER}},
            "spec": {
                "replicas": 1,
                "roles": ["controller", "broker"],
                "storage": {
                    "type": "jbod",
                    "volumes": [
                        {
                            "id": 0,
                            "type": "persistent-claim",
                            "size": "10Gi",
                            "kraftMetadata": "shared",
                        }
                    ],
                },
                "resources": {
                    "requests": {"cpu": "250m", "memory": "1Gi"},
                    "limits": {"memory": "2Gi"},
                },
            },
        },
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "Kafka",
            "metadata": {
                "name": KAFKA_CLUSTER,
                "annotations": {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"},
            },
            "spec": {
                "kafka": {
                    "version": "4.0.0",
                    "metadataVersion": "4.0-IV3",
                    "listeners": [
                        {"name": "plain", "port": 9092, "type": "internal", "tls": False}
                    ],
                    "config": {
                        "offsets.topic.replication.factor": 1,
                        "transaction.state.log.replication.factor": 1,
                        "transaction.state.log.min.isr": 1,
                        "default.replication.factor": 1,
                        "min.insync.replicas": 1,
                        "auto.create.topics.enable": False,
                    },
                },
                "entityOperator": {"topicOperator": {}, "userOperator": {}},
            },
        },
    ]
    for service in services():
        docs.append(topic(f"{TOPIC_PREFIX}.{service}.events", PARTITIONS["dev"], 1))
    docs.append(topic(f"{TOPIC_PREFIX}.dlq", 1, 1))
    return docs


def postgres_manifests() -> list[dict[str, Any]]:
    # initdb runs before the operator reconciles `managed.roles`: create the roles here (the
    # operator then sets their passwords from the secrets), and a schema owned by each. The
    # stores run `CREATE SCHEMA IF NOT EXISTS`, which PostgreSQL checks against the
    # database's CREATE privilege even when the schema exists: hence the GRANT.
    schemas = "; ".join(
        f"CREATE ROLE {db_role(s)} LOGIN; "
        f"CREATE SCHEMA IF NOT EXISTS {s} AUTHORIZATION {db_role(s)}; "
        f"GRANT CREATE ON DATABASE gongkai TO {db_role(s)}"
        for s in services()
    )
    return [
        {
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Cluster",
            "metadata": {"name": DB_CLUSTER},
            "spec": {
                "instances": 1,
                "imageName": "ghcr.io/cloudnative-pg/postgresql:15",
                "storage": {"size": "10Gi"},
                "postgresql": {"parameters": {"max_connections": "200", "timezone": "UTC"}},
                "bootstrap": {
                    "initdb": {
                        "database": "gongkai",
                        "owner": "gongkai",
                        "secret": {"name": "gongkai-db-owner"},
                        # One schema per service, owned by its role: none reads another's tables.
                        "postInitApplicationSQL": [schemas],
                    }
                },
                "managed": {
                    "roles": [
                        {
                            "name": db_role(s),
                            "ensure": "present",
                            "login": True,
                            "passwordSecret": {"name": f"gongkai-db-{s}"},
                        }
                        for s in services()
                    ]
                },
                "resources": {
                    "requests": {"cpu": "250m", "memory": "512Mi"},
                    "limits": {"memory": "1Gi"},
                },
            },
        }
    ]


def base_files() -> dict[str, str]:
    roles: dict[str, list[str]] = {}
    for service, role in units():
        roles.setdefault(service, []).append(role)
    files = {
        f"k8s/base/services/{s}.yaml": dump(*service_manifests(s, r)) for s, r in roles.items()
    }
    files["k8s/base/kafka.yaml"] = dump(*kafka_manifests())
    files["k8s/base/postgres.yaml"] = dump(*postgres_manifests())
    files["k8s/base/kustomization.yaml"] = dump(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "labels": [
                {"pairs": {"app.kubernetes.io/part-of": PART_OF}, "includeSelectors": False}
            ],
            "resources": [
                "kafka.yaml",
                "postgres.yaml",
                *(f"services/{s}.yaml" for s in sorted(roles)),
            ],
        }
    )
    return files
