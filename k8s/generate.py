"""Generate docker-compose.yml and the Kubernetes manifests from the code.

The service list is the code's (gongkai.app.DEFINITIONS): every service gets a `serve`
process, and a `worker` process when it has projections. Run after adding a service:

    .venv/bin/python -m k8s.generate          # rewrite the files
    .venv/bin/python -m k8s.generate --check  # exit 1 if a file is stale (tests do this)

Written: docker-compose.yml, k8s/base/{kustomization,kafka,postgres}.yaml,
k8s/base/services/<name>.yaml, k8s/overlays/{dev,district}/kustomization.yaml and
k8s/overlays/district/sizing.yaml. The JSON schemas in k8s/schemas/ are hand-kept.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from k8s.base import base_files
from k8s.common import (
    DB_CLUSTER,
    IMAGE,
    K8S,
    KAFKA_CLUSTER,
    PARTITIONS,
    REPO,
    TOPIC_PREFIX,
    dump,
    services,
    units,
    version,
)
from k8s.compose import compose

__all__ = ["generated", "main", "units"]


def overlay_files() -> dict[str, str]:
    tag = version()
    dev = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": "gongkai-dev",
        "resources": ["../../base"],
        "images": [{"name": IMAGE, "newTag": f"{tag}-dev"}],
    }
    district = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": "gongkai",
        "resources": ["../../base", "backup.yaml"],
        "images": [{"name": IMAGE, "newTag": tag}],
        "patches": [{"path": "sizing.yaml"}],
    }
    n = PARTITIONS["district"]
    patches: list[dict[str, Any]] = [
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaNodePool",
            "metadata": {"name": "dual-role"},
            "spec": {"replicas": 3},
        },
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "Kafka",
            "metadata": {"name": KAFKA_CLUSTER},
            "spec": {
                "kafka": {
                    "config": {
                        "offsets.topic.replication.factor": 3,
                        "transaction.state.log.replication.factor": 3,
                        "transaction.state.log.min.isr": 2,
                        "default.replication.factor": 3,
                        "min.insync.replicas": 2,
                    }
                }
            },
        },
        {
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Cluster",
            "metadata": {"name": DB_CLUSTER},
            "spec": {
                "instances": 3,
                "storage": {"size": "50Gi"},
                # Each process holds up to 11 connections (pool of 10 + LISTEN): see
                # docs/deployment.md "Sizing" for the arithmetic behind this ceiling.
                "postgresql": {"parameters": {"max_connections": "600"}},
                "backup": {
                    "retentionPolicy": "30d",
                    "barmanObjectStore": {
                        "destinationPath": "s3://gongkai-backups/db",
                        "s3Credentials": {
                            "accessKeyId": {"name": "gongkai-backup-s3", "key": "ACCESS_KEY_ID"},
                            "secretAccessKey": {
                                "name": "gongkai-backup-s3",
                                "key": "ACCESS_SECRET_KEY",
                            },
                        },
                        "wal": {"compression": "gzip"},
                    },
                },
            },
        },
    ]
    for service in services():
        patches.append(
            {
                "apiVersion": "kafka.strimzi.io/v1beta2",
                "kind": "KafkaTopic",
                "metadata": {"name": f"{TOPIC_PREFIX}-{service}-events"},
                "spec": {"partitions": n, "replicas": 3, "config": {"min.insync.replicas": 2}},
            }
        )
    patches.append(
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaTopic",
            "metadata": {"name": f"{TOPIC_PREFIX}-dlq"},
            "spec": {"replicas": 3},
        }
    )
    for service, role in units():
        name = f"{service}-{role}"
        patches.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name},
                "spec": {"replicas": 2},
            }
        )
        patches.append(
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": name},
                # Two for availability; workers up to the partition count, no further.
                "spec": {"minReplicas": 2, "maxReplicas": n if role == "worker" else 8},
            }
        )
    backup = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "ScheduledBackup",
        "metadata": {"name": f"{DB_CLUSTER}-nightly"},
        "spec": {
            "schedule": "0 0 2 * * *",
            "backupOwnerReference": "self",
            "cluster": {"name": DB_CLUSTER},
        },
    }
    return {
        "k8s/overlays/dev/kustomization.yaml": dump(dev),
        "k8s/overlays/district/kustomization.yaml": dump(district),
        "k8s/overlays/district/sizing.yaml": dump(*patches),
        "k8s/overlays/district/backup.yaml": dump(backup),
    }


def generated() -> dict[str, str]:
    """Relative path -> content of every generated file."""
    return {"docker-compose.yml": compose(), **base_files(), **overlay_files()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is stale")
    args = parser.parse_args(argv)
    stale = []
    files = generated()
    for rel, content in files.items():
        path = REPO / rel
        if path.exists() and path.read_text(encoding="utf-8") == content:
            continue
        stale.append(rel)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    # Manifests of services that no longer exist.
    known = {REPO / rel for rel in files}
    for path in sorted((K8S / "base" / "services").glob("*.yaml")):
        if path not in known:
            stale.append(str(path.relative_to(REPO)))
            if not args.check:
                path.unlink()
    if args.check and stale:
        print("stale (run `python -m k8s.generate`): " + ", ".join(stale), file=sys.stderr)
        return 1
    if not args.check:
        print(f"{len(files)} files, {len(stale)} rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
