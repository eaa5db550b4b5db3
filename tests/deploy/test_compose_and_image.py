"""docker-compose.yml and the Dockerfile, parsed (no Docker engine runs here) and cross-checked
with the code: service names, commands, ports and environment variables (issue #9)."""

from __future__ import annotations

import re
import tomllib

import yaml

from shared.kafka import dlq_for, topic_for
from tests.deploy.common import DEFAULT_PORT, REPO, SETTINGS_VARIABLES, units

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
APP = {name: spec for name, spec in SERVICES.items() if name.startswith(("serve-", "worker-"))}
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")


def _env(spec: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {str(k): str(v) for k, v in spec.get("environment", {}).items()}


def test_every_process_of_the_code_is_a_compose_service_and_nothing_else() -> None:
    assert {tuple(spec["command"]) for spec in APP.values()} == units()
    for name, spec in APP.items():
        assert name == "-".join(spec["command"])


def test_compose_uses_only_variables_the_settings_read() -> None:
    for name, spec in APP.items():
        env = _env(spec)
        unknown = {k for k in env if k.startswith("GONGKAI_")} - SETTINGS_VARIABLES
        assert not unknown, f"{name}: {unknown} are not Settings fields"
        assert {"GONGKAI_DATABASE_URL", "GONGKAI_KAFKA_BOOTSTRAP", "GONGKAI_TOKEN_SECRET"} <= set(
            env
        ), f"{name} lacks distributed-mode settings"
        assert env["GONGKAI_HOST"] == "0.0.0.0"


def test_compose_ports_match_the_port_the_process_listens_on() -> None:
    host_ports = []
    for name, spec in APP.items():
        listen = int(_env(spec)["GONGKAI_PORT"])
        (mapping,) = spec["ports"]
        host_ip, host, container = mapping.split(":")
        assert host_ip == "127.0.0.1", f"{name}: publish on loopback only"
        assert int(container) == listen
        host_ports.append(int(host))
    assert len(host_ports) == len(set(host_ports))


def test_secrets_come_from_the_environment_not_the_file() -> None:
    for spec in APP.values():
        assert _env(spec)["GONGKAI_TOKEN_SECRET"].startswith("${GONGKAI_TOKEN_SECRET:?")
        assert "${POSTGRES_PASSWORD}" in _env(spec)["GONGKAI_DATABASE_URL"]
    assert _env(SERVICES["postgres"])["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")


def test_every_container_has_a_health_check_and_start_order() -> None:
    assert "pg_isready" in " ".join(SERVICES["postgres"]["healthcheck"]["test"])
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:")
    assert "broker,controller" in _env(SERVICES["kafka"])["KAFKA_PROCESS_ROLES"]  # KRaft
    for name, spec in APP.items():
        assert "/ready" in " ".join(spec["healthcheck"]["test"]), name
        assert spec["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert spec["depends_on"]["kafka-topics"]["condition"] == "service_completed_successfully"


def test_topic_creation_covers_every_service_topic_and_the_dlq() -> None:
    script = " ".join(SERVICES["kafka-topics"]["command"])
    created = dict(
        re.findall(
            r"--create --if-not-exists --topic (\S+) [^;]*?((?:--config \S+ ?)*)(?:;|$)", script
        )
    )
    prefix = {_env(s)["GONGKAI_TOPIC_PREFIX"] for s in APP.values()}.pop()
    expected = {topic_for(service, prefix) for _, service in units()} | {dlq_for(prefix)}
    assert set(created) == expected


def test_reference_topics_are_compacted_so_calendars_outlive_retention() -> None:
    """Every process reads the platform topic whole: it must keep each stream's latest event."""
    script = " ".join(SERVICES["kafka-topics"]["command"])
    prefix = {_env(s)["GONGKAI_TOPIC_PREFIX"] for s in APP.values()}.pop()
    platform = re.search(rf"--topic {re.escape(topic_for('platform', prefix))} [^;]*", script)
    assert platform and "--config cleanup.policy=compact" in platform.group(0)


def test_dockerfile_is_multi_stage_and_runs_as_non_root() -> None:
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", DOCKERFILE, re.M)
    assert len(stages) >= 2, "multi-stage"
    final = DOCKERFILE.split("\nFROM ")[-1]
    user = re.findall(r"^USER\s+(\S+)", final, re.M)
    assert user and not user[-1].startswith(("root", "0")), "final stage runs as non-root"
    assert "COPY --from=build" in final


def test_one_image_with_the_service_chosen_by_the_command() -> None:
    entrypoint = re.search(r"^ENTRYPOINT\s+(\[.*\])", DOCKERFILE, re.M)
    assert entrypoint and yaml.safe_load(entrypoint.group(1)) == ["python", "-m", "gongkai.cli"]
    env_port = re.search(r"GONGKAI_PORT=(\d+)", DOCKERFILE)
    expose = re.search(r"^EXPOSE\s+(\d+)", DOCKERFILE, re.M)
    assert env_port and expose and env_port.group(1) == expose.group(1) == str(DEFAULT_PORT)
    for name in re.findall(r"\b(GONGKAI_[A-Z_]+)=", DOCKERFILE):
        assert name in SETTINGS_VARIABLES, name


def test_image_holds_the_code_and_the_org_file_the_settings_expect() -> None:
    for folder in ("shared/", "services/", "gongkai/", "deploy/demo/"):
        assert re.search(rf"^COPY .*{folder} {folder}$", DOCKERFILE, re.M), folder
    ignore = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    for folder in ("shared/", "services/", "gongkai/", "deploy/demo/", "pyproject.toml"):
        assert f"!{folder}" in ignore


def test_image_python_satisfies_the_project() -> None:
    version = re.search(r"^ARG PYTHON_VERSION=(\d+)\.(\d+)", DOCKERFILE, re.M)
    with (REPO / "pyproject.toml").open("rb") as fh:
        required = tomllib.load(fh)["project"]["requires-python"]
    minimum = tuple(int(x) for x in required.removeprefix(">=").split("."))
    assert version and (int(version.group(1)), int(version.group(2))) >= minimum
