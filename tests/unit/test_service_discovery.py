"""Services declare themselves; the composition root and contracts/ discover them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gongkai import contracts
from shared.service import ServiceDefinition, discover


def test_every_service_package_with_a_service_module_is_discovered() -> None:
    found = discover()
    assert {"applications", "platform"} <= set(found)
    assert all(isinstance(d, ServiceDefinition) and d.name == n for n, d in found.items())
    assert [r.service for r in contracts.all_registries()] == sorted(found)


def test_a_package_without_service_py_is_skipped_but_a_broken_one_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "fakesvc"
    (root / "draft").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "draft" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert discover("fakesvc") == {}
    (root / "draft" / "service.py").write_text("import not_a_real_module_xyz\n")
    sys.modules.pop("fakesvc.draft.service", None)
    with pytest.raises(ModuleNotFoundError, match="not_a_real_module_xyz"):
        discover("fakesvc")


def test_an_embedded_suite_without_a_projections_source_refuses_to_start() -> None:
    """The catalog's public page lists interpretations from the interpretation service's
    log: an embedded suite running the catalog alone says so at start-up instead of dying
    with a KeyError (or serving an empty list); `*` projections read what the suite runs."""
    from gongkai.app import Suite
    from shared.settings import Settings

    suite = Suite(settings=Settings(), role="embedded", services=["catalog", "assessment"])
    catalog = {p.name: p for p in suite.runtimes["catalog"].definition.projections()}
    with pytest.raises(RuntimeError, match="reads the log of interpretation"):
        suite._embedded_sources("catalog", catalog["catalog.published_interpretations.v1"])
    assert suite._embedded_sources("catalog", catalog["catalog.document_ledger"]) == ["catalog"]
    scorer = next(
        p
        for p in suite.runtimes["assessment"].definition.projections()
        if p.name.startswith("assessment.scoreboard")
    )
    assert sorted(suite._embedded_sources("assessment", scorer)) == ["assessment", "catalog"]


def test_a_process_that_runs_one_service_imports_only_that_one(tmp_path: Path) -> None:
    """`gongkai serve audit` builds its app without importing the other services' modules
    (start-up time of every distributed process)."""
    import subprocess

    probe = (
        "import sys\n"
        "from gongkai.app import DEFINITIONS, create_app\n"
        "from shared.settings import Settings\n"
        "names = list(DEFINITIONS)\n"
        "create_app(Settings(database_url='postgresql://x@127.0.0.1:1/x',"
        " kafka_bootstrap='127.0.0.1:1'), role='serve', services=['audit'])\n"
        "print(len(names), sorted({m.split('.')[1] for m in sys.modules"
        " if m.startswith('services.')}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PYTHONPATH": str(Path(__file__).parents[2]), "PATH": "/usr/bin:/bin"},
    )
    count, loaded = done.stdout.strip().split(" ", 1)
    assert int(count) == len(discover())  # the names are all there, unimported
    assert loaded == "['audit', 'platform']"  # platform: the working-day calendars
