"""Services declare themselves; the composition root and contracts/ discover them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shared import contracts
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
