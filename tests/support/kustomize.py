"""A small `kustomize build` for the tests: the fields infra/k8s's kustomizations use, no more.

CI has no kubectl, so this reads a kustomization the way kustomize does for these fields and
refuses any other field, so that a kustomization using something this does not do fails the
test instead of being half-applied. Where kubectl exists, tests/infra/test_k8s.py checks that
`kubectl kustomize` gives the same objects.

Fields: resources (files, or folders holding a kustomization.yaml), namespace, images (name,
newName, newTag), patches (path: a strategic-merge patch naming its target by kind and name),
replicas, secretGenerator and configMapGenerator (envs, literals; with
generatorOptions.disableNameSuffixHash, since the hash suffix and its references are not done).
"""
from __future__ import annotations

import base64
import copy
from pathlib import Path

import yaml

KNOWN = {"apiVersion", "kind", "resources", "namespace", "images", "patches", "replicas",
         "secretGenerator", "configMapGenerator", "generatorOptions"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass", "StorageClass",
                  "CustomResourceDefinition", "PersistentVolume"}


class KustomizeError(Exception):
    pass


def build(folder: Path) -> list[dict]:
    folder = Path(folder)
    path = folder / "kustomization.yaml"
    k = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    unknown = set(k) - KNOWN
    if unknown:
        raise KustomizeError(f"{path}: fields this loader does not do: {sorted(unknown)}")
    if k.get("kind", "Kustomization") != "Kustomization":
        raise KustomizeError(f"{path}: not a Kustomization")
    objects = []
    for entry in k.get("resources", []):
        target = (folder / entry).resolve()
        objects.extend(build(target) if target.is_dir() else load_yaml(target))
    objects.extend(_generated(folder, k))
    for patch in k.get("patches", []):
        _apply_patch(objects, folder, patch)
    for rule in k.get("replicas", []):
        _only(rule, {"name", "count"}, "replicas")
        found = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "ReplicaSet")
                 and o["metadata"]["name"] == rule["name"]]
        if not found:
            raise KustomizeError(f"replicas: no workload named {rule['name']}")
        for o in found:
            o["spec"]["replicas"] = rule["count"]
    for image in k.get("images", []):
        _only(image, {"name", "newName", "newTag"}, "images")
        _set_image(objects, image)
    if "namespace" in k:
        for o in objects:
            if o["kind"] not in CLUSTER_SCOPED:
                o["metadata"]["namespace"] = k["namespace"]
    _check_unique(objects, path)
    return objects


def load_yaml(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(Path(path).read_text(encoding="utf-8")) if d]


def _only(entry: dict, allowed: set, field: str) -> None:
    if set(entry) - allowed:
        raise KustomizeError(f"{field}: keys this loader does not do: {sorted(set(entry) - allowed)}")


def _generated(folder: Path, k: dict) -> list[dict]:
    options = k.get("generatorOptions") or {}
    _only(options, {"disableNameSuffixHash"}, "generatorOptions")
    kinds = (("secretGenerator", "Secret"), ("configMapGenerator", "ConfigMap"))
    if any(k.get(field) for field, _ in kinds) and options.get("disableNameSuffixHash") is not True:
        raise KustomizeError("generators need generatorOptions.disableNameSuffixHash: true here "
                             "(this loader does not add the hash suffix nor rewrite references)")
    made = []
    for field, kind in kinds:
        for gen in k.get(field, []):
            _only(gen, {"name", "envs", "literals", "type"}, field)
            pairs = [line.split("=", 1) for line in gen.get("literals", [])]
            for env_file in gen.get("envs", []):
                pairs.extend(read_env_file(folder / env_file))
            obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": gen["name"]}}
            if kind == "Secret":
                obj["type"] = gen.get("type", "Opaque")
                obj["data"] = {key: base64.b64encode(value.encode()).decode() for key, value in pairs}
            else:
                obj["data"] = dict(pairs)
            made.append(obj)
    return made


def read_env_file(path: Path) -> list[tuple[str, str]]:
    """KEY=value lines, as kustomize reads them: blank lines and # comments skipped."""
    pairs = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise KustomizeError(f"{path}:{number}: not KEY=value")
        key, value = line.split("=", 1)
        pairs.append((key, value))
    return pairs


def _apply_patch(objects: list[dict], folder: Path, patch: dict) -> None:
    _only(patch, {"path"}, "patches")
    for doc in load_yaml(folder / patch["path"]):
        targets = [o for o in objects if o["kind"] == doc["kind"]
                   and o["metadata"]["name"] == doc["metadata"]["name"]]
        if len(targets) != 1:
            raise KustomizeError(f"patch {patch['path']}: {len(targets)} targets for "
                                 f"{doc['kind']} {doc['metadata']['name']}")
        merged = merge(targets[0], doc)
        targets[0].clear()
        targets[0].update(merged)


def merge(base, patch):
    """Strategic merge: maps merge key by key (null deletes), lists of named items merge by
    name, other lists are replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(out[key], value) if key in out else copy.deepcopy(value)
        return out
    named = lambda items: isinstance(items, list) and all(isinstance(i, dict) and "name" in i for i in items)
    if named(base) and named(patch):
        out = copy.deepcopy(base)
        for item in patch:
            match = next((i for i, old in enumerate(out) if old["name"] == item["name"]), None)
            if match is None:
                out.append(copy.deepcopy(item))
            else:
                out[match] = merge(out[match], item)
        return out
    return copy.deepcopy(patch)


def pod_spec(obj: dict) -> dict | None:
    template = (obj.get("spec") or {}).get("template")
    return template.get("spec") if template else None


def _set_image(objects: list[dict], image: dict) -> None:
    for o in objects:
        spec = pod_spec(o) or {}
        for container in [*spec.get("containers", []), *spec.get("initContainers", [])]:
            name = container["image"].split("@")[0]
            name_only, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
            if name_only == image["name"]:
                tag = image.get("newTag", tag)
                container["image"] = image.get("newName", name_only) + (f":{tag}" if tag else "")


def _check_unique(objects: list[dict], path: Path) -> None:
    seen = set()
    for o in objects:
        key = (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])
        if key in seen:
            raise KustomizeError(f"{path}: {key} appears twice")
        seen.add(key)
