"""The package's import graph: one-way layers, no import cycles, no private names across modules.

Every ``import`` statement counts, the ones inside functions too. Layers, lowest first
(docs/architecture.md, "Layers"): a module imports only from its own layer or lower ones.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"edgeser": "edgeser", "frontend": "edgeser.frontend", "corpora": "edgeser.corpora",
            "models": "edgeser.models", "quantize": "edgeser.quantize", "evaluation": "edgeser.evaluation",
            "benchmarks": "edgeser.benchmarks"}
# (layer, module or package prefix); the longest matching prefix wins
LAYERS = [
    (0, "edgeser.settings"), (0, "edgeser.atomic"), (0, "edgeser.strict_yaml"), (0, "edgeser.c_strings"),
    (0, "edgeser.metrics"), (0, "edgeser.dimensional"), (0, "edgeser.tflite_file"), (0, "edgeser.exits"),
    (1, "edgeser.corpora"),
    (2, "edgeser.frontend"), (2, "edgeser.datasets"),
    (3, "edgeser.models"),
    (4, "edgeser.recipe"), (4, "edgeser.rundir"), (4, "edgeser.models.registry"), (4, "edgeser.models.teacher"),
    (4, "edgeser.train_options"),
    (5, "edgeser.quantize"),
    (6, "edgeser.evaluation"), (6, "edgeser.benchmarks"),
    # the top: commands, stages, reports, and the drivers that run the pipeline's stages
    (7, "edgeser"), (7, "edgeser.benchmarks.accuracy"), (7, "edgeser.benchmarks.recipe_options"),
    (7, "edgeser.benchmarks.cli"), (7, "edgeser.corpora.cli"), (7, "edgeser.evaluation.cli"),
    (7, "edgeser.frontend.cli"), (7, "edgeser.quantize.cli"),
]


def modules() -> dict[str, Path]:
    out = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).glob("*.py")):
            out[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return out


def layer(module: str) -> int:
    best = max((p for p in LAYERS if module == p[1] or module.startswith(p[1] + ".")), key=lambda p: len(p[1]))
    return best[0]


def imports(path: Path, known: dict[str, Path]) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every edgeser import in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("edgeser"):
            names = [a.name for a in node.names]
            subs = [f"{node.module}.{n}" for n in names if f"{node.module}.{n}" in known]
            if node.module != "edgeser" or not subs:
                found.append((node.module, [n for n in names if f"{node.module}.{n}" not in known]))
            found += [(s, []) for s in subs]
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("edgeser")]
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, list[str]]]:
    known = modules()
    out: dict[str, dict[str, list[str]]] = {}
    for name, path in known.items():
        deps: dict[str, list[str]] = {}
        for module, names in imports(path, known):
            if module != name and module != "edgeser":  # `import edgeser` only selects tf-keras
                deps.setdefault(module, []).extend(names)
        out[name] = deps
    return out


def test_every_import_goes_down_the_layers(graph):
    upward = [f"{m} (layer {layer(m)}) imports {d} (layer {layer(d)})"
              for m, deps in graph.items() for d in deps if layer(d) > layer(m)]
    assert upward == []


def test_no_import_cycles(graph):
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == []


def test_no_private_names_across_modules(graph):
    private = [f"{m} imports {n} from {d}" for m, deps in graph.items() for d, names in deps.items()
               for n in names if n.startswith("_") and not n.startswith("__")]
    assert private == []


def test_the_checker_sees_what_it_checks(graph):
    """The graph holds real edges (a broken parser would pass the tests above vacuously)."""
    assert "edgeser.frontend.config" in graph["edgeser.recipe"]
    assert layer("edgeser.models.registry") == 4 and layer("edgeser.models.acoustic") == 3
    assert layer("edgeser.pipeline") == 7 and layer("edgeser.metrics") == 0
    assert sum(len(d) for d in graph.values()) > 150


def test_recipes_load_without_tensorflow():
    import subprocess
    import sys

    code = "import sys, edgeser.recipe, edgeser.search_space; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
