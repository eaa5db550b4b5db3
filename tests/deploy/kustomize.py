"""Render a kustomization: `kubectl kustomize` / `kustomize build` when installed, else a tiny
renderer of the features k8s/ uses (resources, namespace, labels, images, strategic-merge
patches in multi-document files). The tests check the two agree when both are available.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]


def render(path: Path) -> list[Doc]:
    """The rendered documents of the kustomization in `path` (real tool if present)."""
    if shutil.which("kubectl"):
        out = subprocess.run(
            ["kubectl", "kustomize", str(path)], capture_output=True, text=True, check=True
        ).stdout
        return [d for d in yaml.safe_load_all(out) if d]
    if shutil.which("kustomize"):
        out = subprocess.run(
            ["kustomize", "build", str(path)], capture_output=True, text=True, check=True
        ).stdout
        return [d for d in yaml.safe_load_all(out) if d]
    return render_fallback(path)


def _load(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def render_fallback(path: Path) -> list[Doc]:
    k = _load(path / "kustomization.yaml")[0]
    docs: list[Doc] = []
    for resource in k.get("resources", []):
        target = path / resource
        docs += render_fallback(target) if target.is_dir() else _load(target)
    for entry in k.get("patches", []):
        for patch in _load(path / entry["path"]):
            _apply_patch(docs, patch)
    for label in k.get("labels", []):
        for doc in docs:
            doc.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
    for image in k.get("images", []):
        for doc in docs:
            for container in _containers(doc):
                name = container["image"].rsplit(":", 1)[0]
                if name == image["name"]:
                    container["image"] = f"{image.get('newName', name)}:{image['newTag']}"
    if "namespace" in k:
        for doc in docs:
            doc["metadata"]["namespace"] = k["namespace"]
    return docs


def _containers(doc: Doc) -> list[Doc]:
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    return list(spec.get("containers", []))


def _apply_patch(docs: list[Doc], patch: Doc) -> None:
    for doc in docs:
        if doc["kind"] == patch["kind"] and doc["metadata"]["name"] == patch["metadata"]["name"]:
            merged = merge(doc, {k: v for k, v in patch.items() if k != "metadata"})
            doc.clear()
            doc.update(merged)
            return
    raise KeyError(f"patch target {patch['kind']}/{patch['metadata']['name']} not found")


def merge(base: Any, patch: Any) -> Any:
    """Strategic merge, as far as k8s/ needs it: maps merge; lists of named maps merge by name;
    other lists and scalars are replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for key, value in patch.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(x, dict) and "name" in x for x in base + patch)
    ):
        out_list = copy.deepcopy(base)
        for item in patch:
            for i, existing in enumerate(out_list):
                if existing["name"] == item["name"]:
                    out_list[i] = merge(existing, item)
                    break
            else:
                out_list.append(copy.deepcopy(item))
        return out_list
    return copy.deepcopy(patch)
