"""docker-compose.yml: Kafka (KRaft), topic creation, PostgreSQL, every serve and worker."""

from __future__ import annotations

from typing import Any

from k8s.common import (
    IMAGE,
    PARTITIONS,
    PORT,
    TOPIC_PREFIX,
    dump,
    service_urls,
    services,
    units,
    version,
)
from shared.kafka import topic_config


def compose() -> str:
    env = {
        "GONGKAI_KAFKA_BOOTSTRAP": "kafka:9092",
        "GONGKAI_TOPIC_PREFIX": TOPIC_PREFIX,
        "GONGKAI_TOKEN_SECRET": "${GONGKAI_TOKEN_SECRET:?set GONGKAI_TOKEN_SECRET (48+ chars)}",
        "GONGKAI_HOST": "0.0.0.0",
        "GONGKAI_PORT": str(PORT),
        "GONGKAI_LOG_FORMAT": "json",
    }
    topics = [f"{TOPIC_PREFIX}.{s}.events" for s in services()] + [f"{TOPIC_PREFIX}.dlq"]
    commands = []
    for topic in topics:
        configs = "".join(f" --config {k}={v}" for k, v in topic_config(topic).items())
        commands.append(
            "/opt/kafka/bin/kafka-topics.sh --bootstrap-server kafka:9092 --create"
            f" --if-not-exists --topic {topic} --partitions {PARTITIONS['dev']}"
            f" --replication-factor 1{configs}"
        )
    create = "set -e; " + "; ".join(commands)
    doc: dict[str, Any] = {
        "name": "gongkai",
        "services": {
            "kafka": {
                "image": "apache/kafka:4.0.0",
                "environment": {
                    "KAFKA_NODE_ID": "1",
                    "KAFKA_LOG_DIRS": "/var/lib/kafka/data",
                    "KAFKA_PROCESS_ROLES": "broker,controller",
                    "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093",
                    "KAFKA_ADVERTISED_LISTENERS": "PLAINTEXT://kafka:9092",
                    "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
                    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": (
                        "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
                    ),
                    "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@kafka:9093",
                    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
                    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
                    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
                    "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
                    "KAFKA_NUM_PARTITIONS": str(PARTITIONS["dev"]),
                },
                "volumes": ["kafka-data:/var/lib/kafka/data"],
                "healthcheck": {
                    "test": [
                        "CMD-SHELL",
                        "/opt/kafka/bin/kafka-broker-api-versions.sh "
                        "--bootstrap-server localhost:9092 >/dev/null 2>&1",
                    ],
                    "interval": "10s",
                    "timeout": "10s",
                    "retries": 12,
                    "start_period": "20s",
                },
            },
            "kafka-topics": {
                "image": "apache/kafka:4.0.0",
                "depends_on": {"kafka": {"condition": "service_healthy"}},
                "entrypoint": ["/bin/sh", "-c"],
                "command": [create],
                "restart": "on-failure",
            },
            "postgres": {
                "image": "postgres:15",
                "environment": {
                    "POSTGRES_USER": "gongkai",
                    "POSTGRES_DB": "gongkai",
                    "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}",
                },
                "volumes": ["postgres-data:/var/lib/postgresql/data"],
                "healthcheck": {
                    "test": ["CMD-SHELL", "pg_isready -U gongkai -d gongkai"],
                    "interval": "5s",
                    "timeout": "5s",
                    "retries": 12,
                },
            },
        },
        "volumes": {"kafka-data": {}, "postgres-data": {}},
    }
    host_port = 8100
    for service, role in units():
        doc["services"][f"{role}-{service}"] = {
            "build": {"context": "."},
            "image": f"{IMAGE}:{version()}",
            "command": [role, service],
            "environment": {
                **env,
                "GONGKAI_DATABASE_URL": "postgresql://gongkai:${POSTGRES_PASSWORD}@postgres:5432/gongkai",
                **_urls(service),
                # One container per worker, restarted under its name: a static group
                # member that takes its partitions back at once (docs/deployment.md).
                **({"GONGKAI_KAFKA_INSTANCE_ID": f"{role}-{service}"} if role == "worker" else {}),
            },
            "ports": [f"127.0.0.1:{host_port}:{PORT}"],
            "depends_on": {
                "postgres": {"condition": "service_healthy"},
                "kafka-topics": {"condition": "service_completed_successfully"},
            },
            "healthcheck": {
                "test": [
                    "CMD",
                    "python",
                    "-c",
                    "import urllib.request; urllib.request.urlopen("
                    f"'http://127.0.0.1:{PORT}/ready', timeout=2)",
                ],
                "interval": "10s",
                "timeout": "5s",
                "retries": 6,
                "start_period": "30s",
            },
            "restart": "unless-stopped",
        }
        host_port += 1
    return (
        "# The distributed suite in containers: `GONGKAI_TOKEN_SECRET=... POSTGRES_PASSWORD=...\n"
        "# docker compose up`. See docs/deployment.md.\n" + dump(doc)
    )


def _urls(service: str) -> dict[str, str]:
    """The APIs a service calls, at their compose service names."""
    urls = service_urls(service, lambda callee: f"http://serve-{callee}:{PORT}")
    return {"GONGKAI_SERVICE_URLS": urls} if urls else {}
