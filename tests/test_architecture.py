"""The layering of docs/architecture.rst holds: no upward imports, no import cycles.

Module-level imports of every module of the package are read with ``ast`` (imports
inside functions are lazy on purpose and not part of the layering).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "semgaug_sk"

#: Layer of each part of the package, bottom-up (docs/architecture.rst).
LAYERS = {
    "utils": 1,
    "nn": 2,
    "datasets": 3,
    "windows": 3,
    "features": 3,
    "preprocessing": 3,
    "metrics": 3,
    "model_selection": 3,
    "persistence": 4,
    "base": 5,
    "encoders": 6,
    "imitation": 6,
    "classifiers": 6,
    "augmentation": 7,
    "plotting": 8,
    "cli": 8,
}


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path):
    """Absolute names of the modules ``path`` imports at module level."""
    tree = ast.parse(path.read_text())
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.add(node.module)
                continue
            base = package.split(".")
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
            found.add(target)
            if node.module is None:  # from . import x
                found |= {f"{target}.{alias.name}" for alias in node.names}
    return found


MODULES = {
    _module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts
}
INTERNAL = {
    name: {i for i in _top_level_imports(path) if i.split(".")[0] == "semgaug_sk"}
    for name, path in MODULES.items()
}


def _part(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _part(m) in LAYERS))
def test_no_upward_import(module):
    layer = LAYERS[_part(module)]
    upward = sorted(
        target
        for target in INTERNAL[module]
        if _part(target) in LAYERS and LAYERS[_part(target)] > layer
    )
    assert not upward, f"{module} (layer {layer}) imports from a higher layer: {upward}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _part(m) == "nn"))
def test_nn_knows_nothing_of_sklearn(module):
    external = {i.split(".")[0] for i in _top_level_imports(MODULES[module])}
    assert not external & {"sklearn", "skorch", "imblearn"}, module


@pytest.mark.parametrize(
    "module",
    sorted(m for m in MODULES if _part(m) in {"datasets", "windows", "features", "metrics"}),
)
def test_numerics_know_nothing_of_torch(module):
    external = {i.split(".")[0] for i in _top_level_imports(MODULES[module])}
    assert "torch" not in external, module


def test_no_import_cycles():
    graph = {
        m: {t for t in INTERNAL[m] if t in MODULES and t != m and not m.startswith(t + ".")}
        for m in MODULES
        if m != "semgaug_sk"
    }
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in graph.get(node, ()):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt) :] + [nxt] if nxt in stack else [node, nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [node])
    assert not cycles, f"import cycles: {cycles}"


def test_every_part_has_a_layer():
    parts = {_part(m) for m in MODULES} - {None, "__main__"}
    assert parts <= set(LAYERS), sorted(parts - set(LAYERS))
