"""docker-compose.yml and k8s/ are generated from the code (k8s/generate.py): a new service
shows up in every deployment file, or this test fails until `python -m k8s.generate` runs."""

from __future__ import annotations

import pytest

from k8s import generate
from tests.deploy.common import REPO, units

GENERATED = generate.generated()


def test_generator_lists_every_discovered_service_and_role() -> None:
    assert {(role, service) for service, role in generate.units()} == units()


@pytest.mark.parametrize("rel", sorted(GENERATED))
def test_generated_file_is_current(rel: str) -> None:
    path = REPO / rel
    assert path.exists(), f"{rel} missing: run `python -m k8s.generate`"
    assert path.read_text(encoding="utf-8") == GENERATED[rel], (
        f"{rel} is stale: run `python -m k8s.generate`"
    )


def test_no_manifest_for_a_service_that_no_longer_exists() -> None:
    names = {p.stem for p in (REPO / "k8s" / "base" / "services").glob("*.yaml")}
    assert names == {service for _, service in units()}
